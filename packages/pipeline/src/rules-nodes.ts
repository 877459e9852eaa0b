// The engine's compiled form of a rule (a Node), its per-device state, device matchers and alert
// message templates. Internal to rules.ts.
import type { AlertEvent, AlertSeverity, DeviceFilter } from './rules-types.js';

export const THRESHOLD = 0;
export const RATE = 1;
export const HEARTBEAT = 2;
export const COMBINATION = 3;

export interface Node {
  readonly index: number;
  readonly id: string;
  readonly type: number;
  /** Top-level rules emit events; inline conditions only hold state. */
  readonly emit: boolean;
  readonly severity: AlertSeverity;
  readonly metric: string | null;
  readonly above: number;
  readonly below: number;
  readonly clearHigh: number;
  readonly clearLow: number;
  readonly forCount: number;
  readonly silenceMs: number;
  readonly children: readonly number[];
  readonly all: boolean;
  /** Has a combination above it: a state change re-evaluates the combinations. */
  hasParents: boolean;
  readonly match: ((device: string) => boolean) | null;
  /** Heartbeat with an explicit list of names: watched from the start. */
  readonly expected: readonly string[] | null;
  readonly template: string | undefined;
}

export class NodeState {
  active = false;
  count = 0;
  /** Event time of the last point evaluated (dedup and ordering). */
  lastT = -Infinity;
  prevV = 0;
  lastStart = -Infinity;
  episodeId = '';
}

export interface DeviceState {
  readonly device: string;
  /** Newest event time seen from the device, any metric. */
  lastSeen: number;
  readonly match: Uint8Array;
  readonly states: NodeState[];
  /** Named in a heartbeat rule's list: watched from the start, never dropped. */
  readonly pinned: boolean;
  /** Has sent a point: other heartbeat rules watch it only then. */
  seen: boolean;
}

function globRegExp(globs: readonly string[]): RegExp {
  const alt = globs.map((g) => g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.'));
  return new RegExp(`^(?:${alt.join('|')})$`, 's');
}

export function matcher(filter: DeviceFilter | undefined, heartbeat: boolean): ((d: string) => boolean) | null {
  if (filter === undefined || (heartbeat && filter === 'seen')) return null;
  const list = typeof filter === 'string' ? [filter] : filter;
  if (list.every((g) => !/[*?]/.test(g))) {
    const set = new Set(list);
    return (d) => set.has(d);
  }
  const re = globRegExp(list);
  return (d) => re.test(d);
}

export const EMPTY: readonly AlertEvent[] = Object.freeze([]);

/** The alert text: the rule's template, or a default naming rule, event, device and value. */
export function message(node: Node, event: string, device: string, value: number | null): string {
  const tpl = node.template ?? (node.metric === null ? '{ruleId} {event} on {device}' : '{ruleId} {event} on {device} ({metric} = {value})');
  return tpl.replace(/\{(ruleId|device|metric|value|severity|event)\}/g, (_, k: string) => {
    switch (k) {
      case 'ruleId':
        return node.id;
      case 'device':
        return device;
      case 'metric':
        return node.metric ?? '';
      case 'value':
        return value === null ? '' : String(value);
      case 'severity':
        return node.severity;
      default:
        return event;
    }
  });
}
