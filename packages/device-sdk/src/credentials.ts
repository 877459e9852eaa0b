import { DeviceError } from './errors.js';
import { checkDeviceCredentials } from './identity/verify.js';
import type { ResolvedOptions } from './options.js';
import { tokenKeyContext } from './transports/tls.js';

/**
 * Checks the device's own credentials before a socket is opened and returns the client
 * id to connect with (the certificate CN). With `insecure: true` and no certificate, the
 * given client id is used as is.
 */
export function checkClientCredentials(o: ResolvedOptions): string {
  if (o.cert === undefined || o.key === undefined) {
    if (o.clientId === undefined) throw new DeviceError('INVALID_OPTION', 'connectDevice: clientId is required when no certificate is given');
    return o.clientId;
  }
  if (o.ca === undefined) {
    throw new DeviceError('CERT_REQUIRED', 'connectDevice: ca is required to check the device certificate');
  }
  const identity = checkDeviceCredentials({
    cert: o.cert,
    key: o.key,
    ca: o.ca.join('\n'),
    ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
    now: new Date(o.now()),
  });
  // A token key: load it now, so that an engine failure is this call's error, not a socket's.
  if (typeof o.key !== 'string' && o.tls) tokenKeyContext(o.key, o.cert, o.ca);
  return identity.deviceId;
}
