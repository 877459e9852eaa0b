// The will message family at the gateway, sans-I/O: the dialogue during CONNECT (MQTT-SN 1.2
// §6.2) as an exchange operation, the updates while connected (§6.4) as a broker command (MQTT
// fixes the will at CONNECT, so the gateway opens a new broker session), and the maxWillBytes
// limit. Internal.
import type { Operation } from './exchanges.js';
import type { BrokerConnectRequest, BrokerCredentials, BrokerLink } from './gateway-broker.js';
import { willBytes, type BrokerCommand, type BrokerResult, type Session, type Will } from './gateway-session.js';
import { ReturnCode, type MqttSnMessage } from './messages.js';

function setWill(s: Session, will: Will | undefined): boolean {
  // Aggregating mode: the will is published on the shared link, so its topic must be the client's.
  if (will !== undefined && (willBytes(will) > s.host.limits.maxWillBytes || (s.host.authorize !== undefined && !s.host.authorize(s, 'publish', will.topic)))) {
    s.host.counted('rejectedWills');
    return false;
  }
  s.will = will;
  return true;
}

/** §6.2 will dialogue (WILLTOPICREQ → WILLTOPIC, WILLMSGREQ → WILLMSG); false when the will is over maxWillBytes (it is not kept). */
export function* willDialogue(s: Session): Operation<boolean> {
  const t = yield { what: 'WILLTOPICREQ', message: () => ({ type: 'WILLTOPICREQ' }), match: (x) => x.type === 'WILLTOPIC' };
  if (t.type !== 'WILLTOPIC' || t.topic === '') {
    s.will = undefined;
    return true;
  }
  const w = yield { what: 'WILLMSGREQ', message: () => ({ type: 'WILLMSGREQ' }), match: (x) => x.type === 'WILLMSG' };
  return setWill(s, { topic: t.topic, payload: w.type === 'WILLMSG' ? w.message : new Uint8Array(), qos: t.qos, retain: t.retain });
}

/** §6.4 WILLTOPICUPD / WILLMSGUPD → WILLTOPICRESP / WILLMSGRESP (3 "not supported" over maxWillBytes, 1 when the broker reconnect fails). */
export function onWillUpdate(s: Session, m: Extract<MqttSnMessage, { type: 'WILLTOPICUPD' | 'WILLMSGUPD' }>): void {
  const respond = m.type === 'WILLTOPICUPD' ? 'WILLTOPICRESP' : 'WILLMSGRESP';
  let ok = true;
  if (m.type === 'WILLTOPICUPD') ok = setWill(s, m.topic === '' ? undefined : { topic: m.topic, payload: s.will?.payload ?? new Uint8Array(), qos: m.qos, retain: m.retain });
  else if (s.will !== undefined) ok = setWill(s, { ...s.will, payload: m.message });
  if (!ok) return s.send({ type: respond, returnCode: ReturnCode.NotSupported });
  s.out.event({ type: 'broker', command: { kind: 'will', respond } });
}

/** The new broker session with the updated will is up (or not). */
export function willUpdateDone(s: Session, c: Extract<BrokerCommand, { kind: 'will' }>, r: BrokerResult): void {
  s.send({ type: c.respond, returnCode: r.ok ? ReturnCode.Accepted : ReturnCode.Congestion });
}

/**
 * §6.4 a changed will: MQTT fixes the will at CONNECT, so a new broker session (clean: false)
 * with the session's current will, the old one ended cleanly (no will), then the session's
 * subscriptions again.
 */
export async function renewWill(s: Session, connect: (r: BrokerConnectRequest) => Promise<BrokerLink>, creds: () => Promise<BrokerCredentials | undefined>, attach: (link: BrokerLink) => void): Promise<BrokerResult> {
  try {
    const c = await creds();
    const old = s.link;
    if (old !== undefined) {
      s.link = undefined;
      await old.end(false);
    }
    const link = await connect({ clientId: s.clientId, creds: c, clean: false, keepAliveS: Math.max(s.keepAliveS, 30), will: s.will });
    attach(link);
    for (const [f, q] of s.subscriptions) await link.subscribe(f, q);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}
