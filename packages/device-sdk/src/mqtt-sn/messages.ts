// MQTT-SN 1.2 §5.4 message formats as a discriminated union on `type`.

/** MQTT-SN QoS levels; −1 is "publish without a connection" (MQTT-SN 1.2 §6.8). */
export type MqttSnQoS = -1 | 0 | 1 | 2;

/**
 * The topic of a PUBLISH (MQTT-SN 1.2 §5.3.4 TopicIdType): a registered id (`normal`), a
 * `predefined` id both sides know in advance, or a two-character `short` name (§6.7).
 *
 * @example
 * ```ts
 * import type { PublishTopic } from '@outpost/device-sdk/mqtt-sn';
 * const t: PublishTopic = { kind: 'short', name: 'tp' };
 * t.kind; // 'short'
 * ```
 */
export type PublishTopic =
  | { readonly kind: 'normal'; readonly id: number }
  | { readonly kind: 'predefined'; readonly id: number }
  | { readonly kind: 'short'; readonly name: string };

/**
 * The topic of a SUBSCRIBE/UNSUBSCRIBE: a full topic `name` (wildcards allowed), a
 * `predefined` id, or a `short` name (MQTT-SN 1.2 §5.4.15).
 *
 * @example
 * ```ts
 * import type { SubscribeTopic } from '@outpost/device-sdk/mqtt-sn';
 * const t: SubscribeTopic = { kind: 'name', name: 'devices/s1/#' };
 * t.kind; // 'name'
 * ```
 */
export type SubscribeTopic =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'predefined'; readonly id: number }
  | { readonly kind: 'short'; readonly name: string };

/**
 * MQTT-SN 1.2 §5.3.10 return codes.
 *
 * @example
 * ```ts
 * import { ReturnCode } from '@outpost/device-sdk/mqtt-sn';
 * ReturnCode.InvalidTopicId; // 2
 * ```
 */
export const ReturnCode = {
  Accepted: 0,
  Congestion: 1,
  InvalidTopicId: 2,
  NotSupported: 3,
} as const;

/**
 * MsgType values (MQTT-SN 1.2 §5.2.2, Table 3).
 *
 * @example
 * ```ts
 * import { MsgType } from '@outpost/device-sdk/mqtt-sn';
 * MsgType.PUBLISH; // 12
 * ```
 */
export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  ENCAPSULATED: 0xfe,
} as const;

/**
 * Every MQTT-SN v1.2 message (§5.4.1–§5.4.25, and the forwarder encapsulation of §5.5),
 * discriminated on `type`. Durations are seconds; payloads are bytes.
 *
 * @example
 * ```ts
 * import { encodeMessage, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';
 * const m: MqttSnMessage = { type: 'PUBACK', topicId: 1, msgId: 7, returnCode: 0 };
 * encodeMessage(m).length; // 7
 * ```
 */
export type MqttSnMessage =
  | { readonly type: 'ADVERTISE'; readonly gwId: number; readonly durationS: number }
  | { readonly type: 'SEARCHGW'; readonly radius: number }
  | { readonly type: 'GWINFO'; readonly gwId: number; readonly gwAdd?: Uint8Array }
  | {
      readonly type: 'CONNECT';
      readonly will: boolean;
      readonly cleanSession: boolean;
      readonly protocolId: number;
      readonly durationS: number;
      readonly clientId: string;
    }
  | { readonly type: 'CONNACK'; readonly returnCode: number }
  | { readonly type: 'WILLTOPICREQ' }
  | { readonly type: 'WILLTOPIC'; readonly qos: 0 | 1 | 2; readonly retain: boolean; readonly topic: string }
  | { readonly type: 'WILLMSGREQ' }
  | { readonly type: 'WILLMSG'; readonly message: Uint8Array }
  | { readonly type: 'REGISTER'; readonly topicId: number; readonly msgId: number; readonly topicName: string }
  | { readonly type: 'REGACK'; readonly topicId: number; readonly msgId: number; readonly returnCode: number }
  | {
      readonly type: 'PUBLISH';
      readonly dup: boolean;
      readonly qos: MqttSnQoS;
      readonly retain: boolean;
      readonly topic: PublishTopic;
      readonly msgId: number;
      readonly payload: Uint8Array;
    }
  | { readonly type: 'PUBACK'; readonly topicId: number; readonly msgId: number; readonly returnCode: number }
  | { readonly type: 'PUBREC'; readonly msgId: number }
  | { readonly type: 'PUBREL'; readonly msgId: number }
  | { readonly type: 'PUBCOMP'; readonly msgId: number }
  | { readonly type: 'SUBSCRIBE'; readonly dup: boolean; readonly qos: MqttSnQoS; readonly msgId: number; readonly topic: SubscribeTopic }
  | { readonly type: 'SUBACK'; readonly qos: MqttSnQoS; readonly topicId: number; readonly msgId: number; readonly returnCode: number }
  | { readonly type: 'UNSUBSCRIBE'; readonly msgId: number; readonly topic: SubscribeTopic }
  | { readonly type: 'UNSUBACK'; readonly msgId: number }
  | { readonly type: 'PINGREQ'; readonly clientId?: string }
  | { readonly type: 'PINGRESP' }
  | { readonly type: 'DISCONNECT'; readonly durationS?: number }
  | { readonly type: 'WILLTOPICUPD'; readonly qos: 0 | 1 | 2; readonly retain: boolean; readonly topic: string }
  | { readonly type: 'WILLTOPICRESP'; readonly returnCode: number }
  | { readonly type: 'WILLMSGUPD'; readonly message: Uint8Array }
  | { readonly type: 'WILLMSGRESP'; readonly returnCode: number }
  | { readonly type: 'ENCAPSULATED'; readonly radius: number; readonly wirelessNodeId: Uint8Array; readonly message: MqttSnMessage };

/**
 * The `type` tag of an {@link MqttSnMessage}.
 *
 * @example
 * ```ts
 * import type { MqttSnMessageType } from '@outpost/device-sdk/mqtt-sn';
 * const t: MqttSnMessageType = 'PINGREQ';
 * t; // 'PINGREQ'
 * ```
 */
export type MqttSnMessageType = MqttSnMessage['type'];
