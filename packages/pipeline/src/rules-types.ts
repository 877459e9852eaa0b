/**
 * The shapes of the hot path: rules as a rules file declares them (see `rules-parse.ts`) and the
 * alert events the engine (`rules.ts`) emits.
 */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/**
 * Which devices a rule applies to: one glob (`pump-*`, `?` for one character) or a list of
 * globs and names. Absent: every device.
 */
export type DeviceFilter = string | readonly string[];

/** Fields every rule has. */
export interface RuleCommon {
  /** Unique id: letters, digits, `_`, `-`, `.`, `:`. Appears in alert events and episode ids. */
  readonly id: string;
  /** Default `warning`. */
  readonly severity?: AlertSeverity;
  /** Default: every device. On a heartbeat rule, `'seen'` (the default) watches every device that sent a point. */
  readonly devices?: DeviceFilter;
  /**
   * Message template. Placeholders: `{ruleId}`, `{device}`, `{metric}`, `{value}`,
   * `{severity}`, `{event}` (`fired` or `resolved`). Default: `{ruleId} {event} on {device}`
   * followed by ` ({metric} = {value})` for metric rules.
   */
  readonly message?: string;
}

/**
 * A level alarm with hysteresis. The point is *beyond* when `value > above` or
 * `value < below`; the episode fires after `forCount` consecutive beyond points and resolves at
 * the first point back at `clearAt` (`value <= clearAt` for `above`, `value >= clearAt` for
 * `below`; default the trigger level). `clearAt` needs exactly one of `above`/`below`.
 */
export interface ThresholdRule extends RuleCommon {
  readonly kind: 'threshold';
  readonly metric: string;
  readonly above?: number;
  readonly below?: number;
  readonly clearAt?: number;
  /** Consecutive beyond points before firing. Default 1. */
  readonly forCount?: number;
}

/**
 * A rate-of-change alarm: the rate is `(value - previous value) / seconds between them`,
 * computed from the previous point of the same device and metric by event time. Fires after
 * `forCount` consecutive rates beyond a limit, resolves at the first rate within the limits.
 * A point not newer than the previous one (a redelivery or an out-of-order point) is ignored.
 */
export interface RateRule extends RuleCommon {
  readonly kind: 'rate';
  readonly metric: string;
  /** Units per second; fires when the rate is above it. */
  readonly maxRisePerSecond?: number;
  /** Units per second, positive; fires when the rate is below `-maxFallPerSecond`. */
  readonly maxFallPerSecond?: number;
  /** Default 1. */
  readonly forCount?: number;
}

/**
 * A missing-heartbeat detector: a device silent for longer than `missed × intervalMs` since
 * the event time of its newest point (any metric) fires at the next {@link RuleEngine.tick};
 * its next newer point resolves. With `devices` an explicit list of names (no wildcards),
 * those devices are watched from the engine's start even if they never send anything.
 */
export interface HeartbeatRule extends RuleCommon {
  readonly kind: 'heartbeat';
  readonly intervalMs: number;
  readonly missed: number;
}

/**
 * A combination: `all` holds while every condition's episode is open for the device, `any`
 * while at least one is. Conditions are ids of other rules (which still raise their own
 * alerts) or inline rules (which raise none; `id` optional).
 */
export interface CombinationRule extends RuleCommon {
  readonly kind: 'all' | 'any';
  readonly of: ReadonlyArray<string | InlineRule>;
}

type Inline<R> = Omit<R, 'id'> & { readonly id?: string };
/** A rule written inside a combination's `of`; its `id` is optional. */
export type InlineRule = Inline<ThresholdRule> | Inline<RateRule> | Inline<HeartbeatRule> | Inline<CombinationRule>;

/** Any rule. */
export type Rule = ThresholdRule | RateRule | HeartbeatRule | CombinationRule;

/** What the rule engine emits; the alert sinks deliver it. */
export interface AlertEvent {
  /** `fired` when an episode starts, `resolved` when it ends. */
  readonly kind: 'fired' | 'resolved';
  readonly ruleId: string;
  readonly device: string;
  readonly severity: AlertSeverity;
  /** Epoch ms: the event time of the point that caused it, or the clock at `tick()`. */
  readonly at: number;
  /** The metric of a threshold or rate rule, else `null`. */
  readonly metric: string | null;
  /** The point's value (the rate, for a rate rule; the silence in ms for a firing heartbeat), or `null`. */
  readonly value: number | null;
  /** `${ruleId}/${device}/${start}`: the same for the `fired` and `resolved` of one episode. */
  readonly episodeId: string;
  readonly message: string;
  /** Set on a `resolved` emitted because the device's state was dropped (see `forgetAfterMs`). */
  readonly expired?: true;
}

/** Options of {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** Clock for heartbeats and state expiry, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * A device whose newest point is older than this (by the clock, at `tick()`) has its state
   * dropped; its open episodes are resolved with `expired: true`. Default 24 h; `Infinity`
   * keeps every device forever. Devices named in a heartbeat rule's list are never dropped.
   */
  readonly forgetAfterMs?: number;
}
