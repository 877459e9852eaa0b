// The will message family at the gateway: the dialogue during CONNECT (MQTT-SN 1.2 §6.2), the
// updates while connected (§6.4), and the maxWillBytes limit. Internal.
import type { BrokerLink } from './gateway-broker.js';
import { willBytes, type Session, type Will } from './gateway-session.js';
import { ReturnCode, type MqttSnMessage } from './messages.js';

/** What the will handlers need from the gateway. */
export interface WillHost {
  readonly maxWillBytes: number;
  rejected(): void;
  /** A new broker session for `s` with its current will (MQTT fixes the will at CONNECT). */
  reconnect(s: Session): Promise<BrokerLink>;
  error(e: Error, clientId: string): void;
}

function setWill(h: WillHost, s: Session, will: Will | undefined): boolean {
  if (will !== undefined && willBytes(will) > h.maxWillBytes) {
    h.rejected();
    return false;
  }
  s.will = will;
  return true;
}

/** §6.2 will dialogue (WILLTOPICREQ → WILLTOPIC, WILLMSGREQ → WILLMSG); false when the will is over maxWillBytes (it is not kept). */
export async function willDialogue(h: WillHost, s: Session): Promise<boolean> {
  const t = await s.rtx.request('WILLTOPICREQ', () => s.send({ type: 'WILLTOPICREQ' }), (x) => x.type === 'WILLTOPIC');
  if (t.type !== 'WILLTOPIC' || t.topic === '') {
    s.will = undefined;
    return true;
  }
  const w = await s.rtx.request('WILLMSGREQ', () => s.send({ type: 'WILLMSGREQ' }), (x) => x.type === 'WILLMSG');
  return setWill(h, s, { topic: t.topic, payload: w.type === 'WILLMSG' ? w.message : new Uint8Array(), qos: t.qos, retain: t.retain });
}

async function reconnectForWill(h: WillHost, s: Session): Promise<boolean> {
  try {
    const link = await h.reconnect(s);
    for (const [f, q] of s.subscriptions) await link.subscribe(f, q);
    return true;
  } catch (e) {
    h.error(e as Error, s.clientId);
    return false;
  }
}

/** §6.4 WILLTOPICUPD / WILLMSGUPD → WILLTOPICRESP / WILLMSGRESP (3 "not supported" over maxWillBytes, 1 when the broker reconnect fails). */
export function onWillUpdate(h: WillHost, s: Session, m: Extract<MqttSnMessage, { type: 'WILLTOPICUPD' | 'WILLMSGUPD' }>): void {
  const respond = (rc: number): void => s.send(m.type === 'WILLTOPICUPD' ? { type: 'WILLTOPICRESP', returnCode: rc } : { type: 'WILLMSGRESP', returnCode: rc });
  let ok = true;
  if (m.type === 'WILLTOPICUPD') ok = setWill(h, s, m.topic === '' ? undefined : { topic: m.topic, payload: s.will?.payload ?? new Uint8Array(), qos: m.qos, retain: m.retain });
  else if (s.will !== undefined) ok = setWill(h, s, { ...s.will, payload: m.message });
  if (!ok) return respond(ReturnCode.NotSupported);
  void reconnectForWill(h, s).then((done) => respond(done ? ReturnCode.Accepted : ReturnCode.Congestion));
}
