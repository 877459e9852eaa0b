import { VERSION } from '@outpost/device-sdk';
console.log('v', VERSION);
