// How the broker's certificate failing our verification is reported. Node gives OpenSSL's
// X509_V_ERR_* name as err.code, or UNSPECIFIED for those it has no name for. A SHA-1 signed
// broker certificate cannot be tested against Mosquitto (it refuses to load one at its security
// level), so a Node TLS server at security level 0 stands in for the broker there: a fake peer,
// only for the server side of the handshake.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { DeviceError, connectDevice } from '@outpost/device-sdk';
import { createFleetCA, issueDeviceCertificate } from '@outpost/pki';
import { mapTransportError } from '../src/error-map.js';

const nodeError = (code: string): Error => Object.assign(new Error(`certificate verify failed: ${code}`), { code });

describe('server certificate verification errors → SERVER_CERT_UNTRUSTED', () => {
  test.each(['INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'INVALID_CA', 'CERT_REVOKED', 'UNSPECIFIED'])('%s', (code) => {
    const e = mapTransportError(nodeError(code), 5);
    expect(e.code).toBe('SERVER_CERT_UNTRUSTED');
    expect(e.message).toContain(code);
  });
  test('a socket error stays a network error', () => {
    expect(mapTransportError(nodeError('ECONNRESET'), 5).code).toBe('NETWORK_ERROR');
  });
});

describe('a SHA-1 signed broker certificate', () => {
  let tmp: { path: string; cleanup(): void };
  beforeAll(() => {
    tmp = tempDir('outpost-sha1-server-');
  });
  afterAll(() => tmp.cleanup());

  test('connectDevice → SERVER_CERT_UNTRUSTED (Node reports CA_MD_TOO_WEAK as UNSPECIFIED)', async () => {
    const ca = await createFleetCA();
    const dev = await issueDeviceCertificate({ ca, deviceId: 'd1' });
    const f = (n: string, t: string): string => (writeFileSync(join(tmp.path, n), t), n);
    f('ca.pem', ca.certificatePem);
    f('ca.key', ca.privateKeyPem);
    f('srv.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
    const run = (args: string[]): void => {
      const r = spawnSync('openssl', args, { cwd: tmp.path, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
    run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '7', '-days', '5', '-sha1', '-extfile', 'srv.ext', '-out', 'srv.pem']);
    const server = tls.createServer({ cert: readFileSync(join(tmp.path, 'srv.pem')), key: readFileSync(join(tmp.path, 'srv.key')), ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const err = await connectDevice({ url: `mqtts://127.0.0.1:${port}`, ca: ca.certificatePem, cert: dev.certificatePem, key: dev.privateKeyPem!, reconnect: false }).then(
        async (c) => { await c.close(); return undefined; },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as DeviceError).code).toBe('SERVER_CERT_UNTRUSTED');
    } finally {
      server.close();
    }
  });
});
