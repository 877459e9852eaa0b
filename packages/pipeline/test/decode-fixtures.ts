// Shared by the decoder suites: a message builder and a one-word outcome of a decode call.
import { Encoder } from 'cbor-x';
import type { IncomingMessage } from '../src/decode.js';
import { PipelineError } from '../src/errors.js';

export const enc = new TextEncoder();
export const cbor = new Encoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0]);
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

/** A message on `devices/pump-1/telemetry` received at T0. */
export const msg = (payload: Uint8Array | string, over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  topic: 'devices/pump-1/telemetry',
  payload: typeof payload === 'string' ? enc.encode(payload) : payload,
  receivedAt: T0,
  ...over,
});

/** 'OK', the PipelineError code, or the name and message of any other error. */
export function outcome(f: () => unknown): string {
  try {
    f();
    return 'OK';
  } catch (e) {
    return e instanceof PipelineError ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
  }
}
