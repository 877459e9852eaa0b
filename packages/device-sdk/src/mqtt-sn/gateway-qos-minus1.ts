// QoS −1 at the gateway (MQTT-SN 1.2 §6.8): PUBLISHes from clients that never connected, to a
// predefined id or a short name only, published under the gateway's own identity. Internal.
import type { BrokerConnectRequest, BrokerCredentials, BrokerLink } from './gateway-broker.js';
import { MqttSnError } from './errors.js';
import type { MqttSnMessage } from './messages.js';

export class QosMinus1 {
  private own: Promise<BrokerLink> | undefined;

  constructor(
    private readonly identity: (BrokerCredentials & { readonly clientId: string }) | undefined,
    private readonly predefinedById: ReadonlyMap<number, string>,
    private readonly connector: (r: BrokerConnectRequest) => Promise<BrokerLink>,
  ) {}

  /** Publishes at QoS 0; resolves with the reason when it could not (`unknown`: no such topic or no identity). */
  async publish(m: Extract<MqttSnMessage, { type: 'PUBLISH' }>): Promise<true | { error: Error; unknown: boolean }> {
    const topic = m.topic.kind === 'short' ? m.topic.name : m.topic.kind === 'predefined' ? this.predefinedById.get(m.topic.id) : undefined;
    const id = this.identity;
    if (topic === undefined || id === undefined) {
      return { unknown: true, error: new MqttSnError('INVALID_TOPIC', topic === undefined ? 'QoS −1 PUBLISH with an unknown topic (only predefined ids and short names)' : 'QoS −1 PUBLISH dropped: the gateway has no identity of its own') };
    }
    try {
      this.own ??= this.connector({ clientId: id.clientId, creds: id, clean: true, keepAliveS: 60, will: undefined });
      const link = await this.own;
      await link.publish(topic, m.payload, 0, m.retain);
      return true;
    } catch (e) {
      this.own = undefined;
      return { unknown: false, error: e as Error };
    }
  }

  async close(): Promise<void> {
    await this.own?.then((c) => c.end(false), () => undefined);
  }
}
