/**
 * Keep-alive planning: choose the MQTT Keep Alive (MQTT 3.1.1 §3.1.2.10, MQTT 5 §3.1.2.10) from
 * the NAT idle timeout, the broker's limits and the detection time the fleet needs, and price the
 * result in bytes, money and radio energy per day. Pure arithmetic: no clock, no sockets.
 */
import { DeviceError } from './errors.js';
import { describe } from './describe.js';
import { assertTransport, pingExchangeBytes, type PingBytes, type TransportProfile } from './keepalive-model.js';

/** Which constraint decided the chosen keep-alive. */
export type KeepAliveReason =
  /** `natTimeoutS × safetyFactor`: pinging less often would let the NAT drop the mapping. */
  | 'nat-timeout'
  /** `maxDetectionS / 1.5`: a longer interval would notice a dead link too late. */
  | 'detection-time'
  /** The broker's largest accepted keep-alive (AWS IoT Core: 1200 s; MQTT: 65,535 s). */
  | 'broker-max'
  /** The broker's smallest accepted keep-alive (AWS IoT Core: 30 s). */
  | 'broker-min'
  /** The shortest interval whose cost per day fits `maxCostPerDay` (`prefer: 'fastest-detection'`). */
  | 'cost-budget'
  /** The shortest interval whose energy per day fits `maxEnergyPerDayJ` (`prefer: 'fastest-detection'`). */
  | 'energy-budget';

/** Inputs of {@link planKeepAlive} and {@link compareKeepAlive}. Only `natTimeoutS` is required. */
export interface KeepAliveOptions {
  /**
   * The shortest idle timeout on the path, in seconds: carrier NAT/CGNAT, firewall, cloud load
   * balancer (Azure's drops idle TCP at 4 min). Required; > 0.
   */
  readonly natTimeoutS: number;
  /**
   * Fraction of `natTimeoutS` the ping must fit under; in (0, 1]. Default 0.8: the margin
   * absorbs timers rounded to a minute on a datasheet, RRC promotion before the ping leaves
   * (0.1–2.5 s on LTE), and a lost PINGREQ retransmitted after TCP's RTO (1 s, 2 s, 4 s… per
   * RFC 6298), so a 300 s NAT gets a 240 s ping with 60 s to spare.
   */
  readonly safetyFactor?: number;
  /** Smallest keep-alive the broker accepts, integer seconds ≥ 1. Default 1. AWS IoT Core: 30. */
  readonly brokerMinKeepAliveS?: number;
  /** Largest keep-alive the broker accepts, integer seconds ≤ 65,535 (MQTT §3.1.2.10). Default 65535. AWS IoT Core: 1200. */
  readonly brokerMaxKeepAliveS?: number;
  /**
   * How soon, at worst, the device and the broker must notice a dead link, in seconds. Both
   * take 1.5 × keep-alive: the broker closes after 1.5 × Keep Alive without a control packet
   * (MQTT 3.1.1 §3.1.2.10 / MQTT 5 §3.1.2.10), and MQTT.js 5 pings at 1 × and gives up at
   * 1.5 × after the last PINGRESP. Default: no requirement.
   */
  readonly maxDetectionS?: number;
  /** Transport below MQTT. Default `{ tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true }`. */
  readonly transport?: TransportProfile;
  /**
   * Pure ACK segments per ping exchange. Default 1, as measured against Mosquitto 2.0.11 on
   * Linux: the broker's ACK of the PINGREQ rides on its PINGRESP, the device ACKs the PINGRESP.
   * Use 2 when the broker's delayed-ACK timer can fire before its PINGRESP leaves.
   */
  readonly pureAcks?: 0 | 1 | 2;
  /** Price of one megabyte (10^6 bytes) in any currency unit, ≥ 0. Default 0 (not metered). */
  readonly costPerMegabyte?: number;
  /**
   * Radio energy per wake-up in joules, ≥ 0: on LTE each exchange keeps the radio in its
   * high-power state for the RRC tail (~10 s), so ~10 J at ~1 W. Default 0 (mains powered).
   */
  readonly energyPerWakeupJ?: number;
  /**
   * Radio tail in seconds, ≥ 0. Default 10 (LTE RRC inactivity timer). A ping sent before the
   * tail of the previous exchange ended costs only the extra `keepAlive / tail` share of it.
   */
  readonly radioTailS?: number;
  /** Supply voltage used to express energy as charge (mAh), > 0. Default 3.7 (Li-ion nominal). */
  readonly supplyVoltageV?: number;
  /**
   * Application exchanges per hour, evenly spaced, that restart the client's ping timer, ≥ 0.
   * Default 0. The MQTT spec counts any control packet the client sends (§3.1.2.10), but
   * MQTT.js 5.16 restarts its timer only on packets it receives in reply (PUBACK, PUBREC,
   * PUBCOMP, SUBACK, UNSUBACK, PINGRESP): count QoS 1/2 publishes, not QoS 0 ones.
   */
  readonly appMessagesPerHour?: number;
  /** Budget: largest acceptable keep-alive cost per day, ≥ 0. Default: none. */
  readonly maxCostPerDay?: number;
  /** Budget: largest acceptable keep-alive energy per day in joules, ≥ 0. Default: none. */
  readonly maxEnergyPerDayJ?: number;
  /**
   * `'lowest-cost'` (default): the longest interval the upper bounds allow. `'fastest-detection'`:
   * the shortest interval the broker and the budgets allow.
   */
  readonly prefer?: 'lowest-cost' | 'fastest-detection';
}

/** The metrics of one keep-alive interval under given options. */
export interface KeepAliveComparisonRow {
  /** Keep Alive in whole seconds, as sent in CONNECT (MQTT §3.1.2.10: a 16-bit integer). */
  readonly keepAliveS: number;
  /** Ping exchanges per day, after application traffic has restarted the timer. */
  readonly pingsPerDay: number;
  /** Bytes on the wire per ping exchange, by layer. */
  readonly bytesPerPing: PingBytes;
  /** `pingsPerDay × bytesPerPing.total`. */
  readonly bytesPerDay: number;
  /** `bytesPerDay / 10^6 × costPerMegabyte`. */
  readonly costPerDay: number;
  /** Radio wake-ups caused by pings per day (0 when pings come faster than the radio tail). */
  readonly wakeupsPerDay: number;
  /** Radio energy spent on pings per day, joules. */
  readonly energyPerDayJ: number;
  /** The same as charge at `supplyVoltageV`, mAh. */
  readonly chargePerDayMah: number;
  /** 1.5 × keep-alive: when the broker drops a silent client (MQTT §3.1.2.10). */
  readonly brokerDisconnectAfterS: number;
  /** Worst-case time for the device (MQTT.js 5) to notice a dead link: 1.5 × keep-alive. */
  readonly deviceDetectionS: number;
  /** Constraints this interval breaks; empty for an acceptable interval. */
  readonly violations: readonly KeepAliveReason[];
}

/** The chosen keep-alive and what it costs. */
export interface KeepAlivePlan extends Omit<KeepAliveComparisonRow, 'violations'> {
  /** Which constraint decided `keepAliveS`. */
  readonly reason: KeepAliveReason;
  /** Human-readable caveats for this plan (slack, radio, billing, client behaviour). */
  readonly notes: readonly string[];
}

interface Resolved {
  natTimeoutS: number;
  safetyFactor: number;
  brokerMinKeepAliveS: number;
  brokerMaxKeepAliveS: number;
  maxDetectionS: number | undefined;
  transport: TransportProfile;
  pureAcks: 0 | 1 | 2;
  costPerMegabyte: number;
  energyPerWakeupJ: number;
  radioTailS: number;
  supplyVoltageV: number;
  appMessagesPerHour: number;
  maxCostPerDay: number | undefined;
  maxEnergyPerDayJ: number | undefined;
  prefer: 'lowest-cost' | 'fastest-detection';
}

const SECONDS_PER_DAY = 86_400;
const BYTES_PER_MEGABYTE = 1_000_000;
// MQTT 3.1.1 §3.1.2.10 / MQTT 5 §3.1.2.10: Keep Alive is a Two Byte Integer; the server
// disconnects after one and a half times the Keep Alive without a control packet.
const MQTT_MAX_KEEPALIVE_S = 65_535;
const DISCONNECT_FACTOR = 1.5;
const DEFAULT_TRANSPORT: TransportProfile = { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true };
const OPTION_KEYS: readonly string[] = [
  'natTimeoutS', 'safetyFactor', 'brokerMinKeepAliveS', 'brokerMaxKeepAliveS', 'maxDetectionS',
  'transport', 'pureAcks', 'costPerMegabyte', 'energyPerWakeupJ', 'radioTailS', 'supplyVoltageV',
  'appMessagesPerHour', 'maxCostPerDay', 'maxEnergyPerDayJ', 'prefer',
];

type Check = 'positive' | 'nonNegative' | 'fraction' | 'keepAlive';

function num(where: string, name: string, value: unknown, check: Check): number {
  if (typeof value !== 'number') throw new TypeError(`${where}: ${name}: expected a number, got ${describe(value)}`);
  const bad = (expected: string): never => { throw new RangeError(`${where}: ${name}: expected ${expected}, got ${describe(value)}`); };
  if (!Number.isFinite(value)) bad('a finite number');
  switch (check) {
    case 'positive': if (!(value > 0)) bad('a number > 0'); break;
    case 'nonNegative': if (!(value >= 0)) bad('a number ≥ 0'); break;
    case 'fraction': if (!(value > 0 && value <= 1)) bad('a number in (0, 1]'); break;
    case 'keepAlive': if (!Number.isInteger(value) || value < 1 || value > MQTT_MAX_KEEPALIVE_S) bad(`an integer in [1, ${MQTT_MAX_KEEPALIVE_S}]`); break;
  }
  return value;
}

function resolve(where: string, options: unknown): Resolved {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options: expected an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key)) throw new TypeError(`${where}: unknown option "${key}"`);
  }
  const opt = (name: string, check: Check, fallback: number): number => (o[name] === undefined ? fallback : num(where, name, o[name], check));
  const optional = (name: string, check: Check): number | undefined => (o[name] === undefined ? undefined : num(where, name, o[name], check));
  if (o['natTimeoutS'] === undefined) throw new TypeError(`${where}: natTimeoutS: required, got undefined`);
  const natTimeoutS = num(where, 'natTimeoutS', o['natTimeoutS'], 'positive');
  const brokerMinKeepAliveS = opt('brokerMinKeepAliveS', 'keepAlive', 1);
  const brokerMaxKeepAliveS = opt('brokerMaxKeepAliveS', 'keepAlive', MQTT_MAX_KEEPALIVE_S);
  if (brokerMinKeepAliveS > brokerMaxKeepAliveS) {
    throw new RangeError(`${where}: brokerMinKeepAliveS: expected ≤ brokerMaxKeepAliveS (${brokerMaxKeepAliveS}), got ${brokerMinKeepAliveS}`);
  }
  const transport = o['transport'] === undefined ? DEFAULT_TRANSPORT : o['transport'];
  assertTransport(transport, `${where}: transport`);
  const pureAcks = o['pureAcks'] === undefined ? 1 : o['pureAcks'];
  if (typeof pureAcks !== 'number') throw new TypeError(`${where}: pureAcks: expected 0, 1 or 2, got ${describe(pureAcks)}`);
  if (pureAcks !== 0 && pureAcks !== 1 && pureAcks !== 2) throw new RangeError(`${where}: pureAcks: expected 0, 1 or 2, got ${pureAcks}`);
  const prefer = o['prefer'] === undefined ? 'lowest-cost' : o['prefer'];
  if (typeof prefer !== 'string') throw new TypeError(`${where}: prefer: expected 'lowest-cost' or 'fastest-detection', got ${describe(prefer)}`);
  if (prefer !== 'lowest-cost' && prefer !== 'fastest-detection') throw new RangeError(`${where}: prefer: expected 'lowest-cost' or 'fastest-detection', got '${prefer}'`);
  return {
    natTimeoutS,
    safetyFactor: opt('safetyFactor', 'fraction', 0.8),
    brokerMinKeepAliveS,
    brokerMaxKeepAliveS,
    maxDetectionS: optional('maxDetectionS', 'positive'),
    transport,
    pureAcks,
    costPerMegabyte: opt('costPerMegabyte', 'nonNegative', 0),
    energyPerWakeupJ: opt('energyPerWakeupJ', 'nonNegative', 0),
    radioTailS: opt('radioTailS', 'nonNegative', 10),
    supplyVoltageV: opt('supplyVoltageV', 'positive', 3.7),
    appMessagesPerHour: opt('appMessagesPerHour', 'nonNegative', 0),
    maxCostPerDay: optional('maxCostPerDay', 'nonNegative'),
    maxEnergyPerDayJ: optional('maxEnergyPerDayJ', 'nonNegative'),
    prefer,
  };
}

/** Ping exchanges per day at keep-alive `k`, given evenly spaced application exchanges. */
function pingsPerDay(k: number, appMessagesPerHour: number): number {
  if (appMessagesPerHour === 0) return SECONDS_PER_DAY / k;
  // Each application exchange restarts the timer (§3.1.2.10: a ping is needed only when no
  // other control packet was sent for a whole Keep Alive). In a gap of P seconds the client
  // pings at k, 2k, … < P.
  const gapS = 3600 / appMessagesPerHour;
  if (!Number.isFinite(gapS)) return SECONDS_PER_DAY / k; // a rate so small it is no traffic
  const perGap = Math.max(0, Math.ceil(gapS / k) - 1);
  return (SECONDS_PER_DAY / gapS) * perGap;
}

function evaluate(k: number, r: Resolved, bytesPerPing: PingBytes): Omit<KeepAliveComparisonRow, 'violations'> {
  const pings = pingsPerDay(k, r.appMessagesPerHour);
  const bytesPerDay = pings * bytesPerPing.total;
  // A ping that leaves before the previous tail ended keeps the radio up for k more seconds
  // instead of starting a new tail.
  const wakes = r.radioTailS > 0 && k < r.radioTailS;
  const energyPerPingJ = wakes ? r.energyPerWakeupJ * (k / r.radioTailS) : r.energyPerWakeupJ;
  const energyPerDayJ = pings * energyPerPingJ;
  return {
    keepAliveS: k,
    pingsPerDay: pings,
    bytesPerPing,
    bytesPerDay,
    costPerDay: (bytesPerDay / BYTES_PER_MEGABYTE) * r.costPerMegabyte,
    wakeupsPerDay: wakes ? 0 : pings,
    energyPerDayJ,
    // J / V = C; 1 mAh = 3.6 C.
    chargePerDayMah: energyPerDayJ / r.supplyVoltageV / 3.6,
    brokerDisconnectAfterS: DISCONNECT_FACTOR * k,
    deviceDetectionS: DISCONNECT_FACTOR * k,
  };
}

interface Bound { value: number; reason: KeepAliveReason }

/** Upper bounds on the keep-alive, in the order a tie is reported. */
function upperBounds(r: Resolved): Bound[] {
  const bounds: Bound[] = [{ value: Math.floor(r.natTimeoutS * r.safetyFactor), reason: 'nat-timeout' }];
  if (r.maxDetectionS !== undefined) bounds.push({ value: Math.floor(r.maxDetectionS / DISCONNECT_FACTOR), reason: 'detection-time' });
  bounds.push({ value: r.brokerMaxKeepAliveS, reason: 'broker-max' });
  return bounds;
}

function violations(row: Omit<KeepAliveComparisonRow, 'violations'>, r: Resolved): KeepAliveReason[] {
  const out: KeepAliveReason[] = [];
  for (const b of upperBounds(r)) if (row.keepAliveS > b.value) out.push(b.reason);
  if (row.keepAliveS < r.brokerMinKeepAliveS) out.push('broker-min');
  if (r.maxCostPerDay !== undefined && row.costPerDay > r.maxCostPerDay) out.push('cost-budget');
  if (r.maxEnergyPerDayJ !== undefined && row.energyPerDayJ > r.maxEnergyPerDayJ) out.push('energy-budget');
  return out;
}

/** Smallest k in [lo, hi] with `fits(k)`, where fits is monotone (pings/day never rise with k). */
function smallestFitting(lo: number, hi: number, fits: (k: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function round(x: number, digits: number): string {
  return Number(x.toFixed(digits)).toString();
}

function planNotes(plan: Omit<KeepAlivePlan, 'notes'>, r: Resolved): string[] {
  const notes: string[] = [];
  const k = plan.keepAliveS;
  const slack = r.natTimeoutS - k;
  if (slack < 10) {
    notes.push(`Only ${round(slack, 1)} s between a ping and the NAT timeout: a lost PINGREQ retransmitted after TCP's RTO (≥ 1 s, RFC 6298) may arrive after the mapping is gone.`);
  }
  if (r.appMessagesPerHour > 0) {
    notes.push('Application exchanges are counted as restarting the ping timer; MQTT.js 5.16 restarts it only on received acks (PUBACK, SUBACK, …, PINGRESP), so QoS 0 publishes do not save pings.');
  }
  if (r.energyPerWakeupJ > 0 && r.radioTailS > 0 && k < r.radioTailS) {
    notes.push(`Keep-alive ${k} s is shorter than the ${r.radioTailS} s radio tail: the radio never returns to idle.`);
  }
  if (r.costPerMegabyte > 0) {
    notes.push('Carriers often bill in rounded increments per session or per day (e.g. 1 KB): the cost here is a lower bound.');
  }
  if (plan.reason === 'broker-max') {
    notes.push(`The broker's maximum (${r.brokerMaxKeepAliveS} s) binds; an MQTT 5 broker may also override the value with Server Keep Alive in CONNACK (MQTT 5 §3.2.2.3.14).`);
  }
  return notes;
}

/**
 * Chooses an MQTT Keep Alive for a device and reports what it costs per day.
 *
 * The interval is the largest whole number of seconds under every upper bound
 * (`natTimeoutS × safetyFactor`, `maxDetectionS / 1.5`, `brokerMaxKeepAliveS`), or with
 * `prefer: 'fastest-detection'` the smallest one the broker minimum and the budgets allow.
 *
 * @param options - see {@link KeepAliveOptions}; only `natTimeoutS` is required.
 * @returns the plan: `keepAliveS`, the binding `reason`, bytes/cost/energy per day, notes.
 * @throws TypeError for a missing or wrongly typed option (or an unknown one), RangeError for an
 *   out-of-range value, and `DeviceError` `INVALID_OPTION` when the constraints cannot all hold
 *   (the NAT needs a shorter interval than the broker accepts, or no safe interval fits a budget).
 *
 * @example
 * ```ts
 * import { planKeepAlive } from '@outpost/device-sdk';
 * const plan = planKeepAlive({
 *   natTimeoutS: 300,
 *   transport: { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: true },
 *   costPerMegabyte: 10,
 *   energyPerWakeupJ: 10,
 * });
 * plan.keepAliveS;          // 240
 * plan.reason;              // 'nat-timeout'
 * plan.pingsPerDay;         // 360
 * plan.bytesPerPing.total;  // 218: 2 × (31 + 52) + 52
 * plan.bytesPerDay;         // 78480
 * plan.energyPerDayJ;       // 3600
 * ```
 */
export function planKeepAlive(options: KeepAliveOptions): KeepAlivePlan {
  const where = 'planKeepAlive';
  const r = resolve(where, options);
  const bytesPerPing = pingExchangeBytes(r.transport, { pureAcks: r.pureAcks });

  const uppers = upperBounds(r);
  let upper = uppers[0] as Bound;
  for (const b of uppers) if (b.value < upper.value) upper = b;
  // MQTT §3.1.2.10: Keep Alive 0 turns the mechanism off, so 1 s is the floor in any case.
  if (upper.value < r.brokerMinKeepAliveS) {
    const what = upper.reason === 'nat-timeout'
      ? `natTimeoutS × safetyFactor = ${r.natTimeoutS} × ${r.safetyFactor} allows at most ${upper.value} s`
      : upper.reason === 'detection-time'
        ? `maxDetectionS / 1.5 = ${r.maxDetectionS ?? Number.NaN} / 1.5 allows at most ${upper.value} s`
        : `brokerMaxKeepAliveS is ${upper.value} s`;
    throw new DeviceError('INVALID_OPTION', `${where}: no keep-alive fits: ${what}, below brokerMinKeepAliveS ${r.brokerMinKeepAliveS} s`);
  }

  const fitsCost = (k: number): boolean => r.maxCostPerDay === undefined || evaluate(k, r, bytesPerPing).costPerDay <= r.maxCostPerDay;
  const fitsEnergy = (k: number): boolean => r.maxEnergyPerDayJ === undefined || evaluate(k, r, bytesPerPing).energyPerDayJ <= r.maxEnergyPerDayJ;
  const best = evaluate(upper.value, r, bytesPerPing);
  if (!fitsCost(upper.value)) {
    throw new DeviceError('INVALID_OPTION', `${where}: maxCostPerDay ${r.maxCostPerDay ?? Number.NaN} cannot be met: the longest safe keep-alive (${upper.value} s, ${upper.reason}) costs ${round(best.costPerDay, 6)} per day`);
  }
  if (!fitsEnergy(upper.value)) {
    throw new DeviceError('INVALID_OPTION', `${where}: maxEnergyPerDayJ ${r.maxEnergyPerDayJ ?? Number.NaN} cannot be met: the longest safe keep-alive (${upper.value} s, ${upper.reason}) spends ${round(best.energyPerDayJ, 3)} J per day`);
  }

  let k = upper.value;
  let reason = upper.reason;
  if (r.prefer === 'fastest-detection') {
    const costK = smallestFitting(r.brokerMinKeepAliveS, upper.value, fitsCost);
    const energyK = smallestFitting(r.brokerMinKeepAliveS, upper.value, fitsEnergy);
    k = Math.max(r.brokerMinKeepAliveS, costK, energyK);
    reason = k === r.brokerMinKeepAliveS ? 'broker-min' : costK >= energyK ? 'cost-budget' : 'energy-budget';
  }
  const plan = { ...evaluate(k, r, bytesPerPing), reason };
  return { ...plan, notes: planNotes(plan, r) };
}

/**
 * Evaluates several keep-alive intervals under the same options: a table of trade-offs for
 * docs and the CLI. Unlike {@link planKeepAlive} it never refuses an interval; it lists the
 * constraints each one breaks in `violations`.
 *
 * @param options - as for {@link planKeepAlive}.
 * @param candidates - keep-alive intervals, integer seconds in [1, 65535].
 * @returns one row per candidate, in the given order.
 * @throws TypeError / RangeError for malformed options or candidates.
 *
 * @example
 * ```ts
 * import { compareKeepAlive } from '@outpost/device-sdk';
 * const rows = compareKeepAlive({ natTimeoutS: 300, energyPerWakeupJ: 10 }, [60, 240, 600]);
 * rows.map((r) => r.pingsPerDay);   // [1440, 360, 144]
 * rows.map((r) => r.violations);    // [[], [], ['nat-timeout']]
 * ```
 */
export function compareKeepAlive(options: KeepAliveOptions, candidates: readonly number[]): KeepAliveComparisonRow[] {
  const where = 'compareKeepAlive';
  const r = resolve(where, options);
  if (!Array.isArray(candidates)) throw new TypeError(`${where}: candidates: expected an array, got ${describe(candidates)}`);
  const bytesPerPing = pingExchangeBytes(r.transport, { pureAcks: r.pureAcks });
  return candidates.map((c: unknown, i) => {
    const k = num(where, `candidates[${i}]`, c, 'keepAlive');
    const row = evaluate(k, r, bytesPerPing);
    return { ...row, violations: violations(row, r) };
  });
}

/**
 * Renders rows from {@link compareKeepAlive} as a Markdown table (keep-alive, pings, bytes,
 * cost and energy per day, broker disconnect time, violations).
 *
 * @param rows - rows from {@link compareKeepAlive}.
 * @param currency - label for the cost column. Default `'$'`.
 * @returns the table, one line per row plus a header, joined with `\n`.
 *
 * @example
 * ```ts
 * import { compareKeepAlive, formatKeepAliveTable } from '@outpost/device-sdk';
 * const table = formatKeepAliveTable(compareKeepAlive({ natTimeoutS: 300 }, [60, 240]));
 * table.split('\n').length; // 4
 * ```
 */
export function formatKeepAliveTable(rows: readonly KeepAliveComparisonRow[], currency = '$'): string {
  if (!Array.isArray(rows)) throw new TypeError(`formatKeepAliveTable: rows: expected an array, got ${describe(rows)}`);
  if (typeof currency !== 'string') throw new TypeError(`formatKeepAliveTable: currency: expected a string, got ${describe(currency)}`);
  const lines = [
    `| keep-alive (s) | pings/day | bytes/ping | bytes/day | cost/day (${currency}) | energy/day (J) | broker drops after (s) | breaks |`,
    '|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    lines.push(`| ${row.keepAliveS} | ${round(row.pingsPerDay, 1)} | ${row.bytesPerPing.total} | ${Math.round(row.bytesPerDay)} | ${round(row.costPerDay, 3)} | ${round(row.energyPerDayJ, 1)} | ${row.brokerDisconnectAfterS} | ${row.violations.length === 0 ? '—' : row.violations.join(', ')} |`);
  }
  return lines.join('\n');
}
