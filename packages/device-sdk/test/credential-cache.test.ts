// connectDevice parses the device's credentials once per identical input (checkDeviceCredentials
// memoises what does not depend on the clock or the client id; parsing costs ~1 ms per connect),
// and still refuses what the full check refuses: an expired certificate, a key that does not
// match, another client id. The broker here is a closed port: the check runs before any socket.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectDevice } from '@outpost/device-sdk';
import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
import { freePort } from '@outpost/test-peers';

// Counts certificate parses: the expensive part the memo saves.
const calls = vi.hoisted(() => ({ n: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  class CountingX509 extends real.X509Certificate {
    constructor(...args: ConstructorParameters<typeof real.X509Certificate>) {
      calls.n++;
      super(...args);
    }
  }
  return { ...real, default: { ...real, X509Certificate: CountingX509 }, X509Certificate: CountingX509 };
});

afterEach(() => {
  calls.n = 0;
});

describe('credential check cache', () => {
  it('parses identical credentials once; expiry and a wrong key are still refused', async () => {
    const ca = await createFleetCA({ commonName: 'Cache CA' });
    const now = Date.now();
    const dev = await issueDeviceCertificate({ ca, deviceId: 'cache-1', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
    const other = await issueDeviceCertificate({ ca, deviceId: 'cache-2' });
    const url = `mqtts://127.0.0.1:${await freePort()}`; // nothing listens: NETWORK_ERROR after the check
    const base = { url, cert: dev.certificatePem, key: dev.privateKeyPem as string, ca: ca.certificatePem, reconnect: false as const, connectTimeoutMs: 2_000 };
    calls.n = 0;
    await expect(connectDevice(base)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    const firstParses = calls.n;
    expect(firstParses).toBeGreaterThan(0);
    await expect(connectDevice(base)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(calls.n).toBe(firstParses); // the second connect parsed nothing
    await expect(connectDevice({ ...base, now: () => now + 7_200_000 })).rejects.toMatchObject({ code: 'CERT_EXPIRED' });
    await expect(connectDevice({ ...base, clientId: 'someone-else' })).rejects.toMatchObject({ code: 'CERT_IDENTITY_MISMATCH' });
    expect(calls.n).toBe(firstParses); // the clock and the client id are checked on every call, without a parse
    await expect(connectDevice({ ...base, key: other.privateKeyPem as string })).rejects.toMatchObject({ code: 'CERT_KEY_MISMATCH' });
    expect(calls.n).toBeGreaterThan(firstParses); // a changed input is checked afresh
  });
});
