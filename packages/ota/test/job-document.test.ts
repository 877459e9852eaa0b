import { describe, expect, it } from 'vitest';
import { encodeOtaJobDocument, OtaError, parseImageSource, parseOtaJobDocument } from '@outpost/ota';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof OtaError ? e.code : (e as Error).name;
  }
  return undefined;
};

describe('OTA job document', () => {
  it('round-trips every field through JSON', () => {
    const job = { manifest: new Uint8Array([1, 2, 3, 250]), image: 'stream:fw-2/1', timestamp: new Uint8Array([7]), roots: [new Uint8Array([8]), new Uint8Array([9, 9])] };
    const back = parseOtaJobDocument('j1', JSON.parse(JSON.stringify(encodeOtaJobDocument(job))));
    expect(back).toEqual({ jobId: 'j1', ...job });
  });

  it('parses the three image sources', () => {
    expect(parseImageSource('stream:fw-2')).toEqual({ kind: 'stream', streamId: 'fw-2', fileId: 0 });
    expect(parseImageSource('https://h:8443/fw.bin')).toEqual({ kind: 'http', url: 'https://h:8443/fw.bin' });
    expect(parseImageSource('coap://127.0.0.1:5683/fw')).toEqual({ kind: 'coap', url: 'coap://127.0.0.1:5683/fw' });
  });

  it('refuses bad sources and documents with typed errors', () => {
    for (const bad of ['stream:', 'stream:a b', 'stream:x/1/2', 'stream:x/-1', 'stream:x/1e2', 'ftp://h/f', 'nonsense', '']) expect(codeOf(() => parseImageSource(bad)), bad).toBe('MALFORMED');
    expect(codeOf(() => parseImageSource(3 as unknown as string))).toBe('TypeError');
    const good = encodeOtaJobDocument({ manifest: new Uint8Array([1]), image: 'stream:s' });
    expect(codeOf(() => parseOtaJobDocument('j', null))).toBe('MALFORMED');
    expect(codeOf(() => parseOtaJobDocument('j', { ...good, operation: 'reboot' }))).toBe('MALFORMED');
    expect(codeOf(() => parseOtaJobDocument('j', { ...good, v: 2 }))).toBe('MALFORMED');
    expect(codeOf(() => parseOtaJobDocument('j', { ...good, manifest: 'not base64!' }))).toBe('MALFORMED');
    expect(codeOf(() => parseOtaJobDocument('j', { ...good, roots: 'x' }))).toBe('MALFORMED');
    expect(codeOf(() => encodeOtaJobDocument({ manifest: 'x' as unknown as Uint8Array, image: 'stream:s' }))).toBe('TypeError');
  });
});
