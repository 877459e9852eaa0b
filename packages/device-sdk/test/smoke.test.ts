import { expect, test } from 'vitest';
import { VERSION } from '@outpost/device-sdk';
test('resolves source', () => { expect(VERSION).toBe('0.1.0'); });
