// Argument checks for numbers that come from device state and options. NaN compares false with
// everything, so an unchecked NaN counter or deadline turns a refusal into an accept (fail open);
// every public function that takes such a number runs it through here first.

const show = (v: unknown): string => (typeof v === 'number' ? String(v) : typeof v);

/** A safe integer ≥ `min`: `TypeError` when not a number, `RangeError` otherwise (NaN, ±Infinity, fractions, below `min`). */
export function intAtLeast(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected an integer ≥ ${min}, got ${show(v)}`);
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name}: expected an integer ≥ ${min}, got ${show(v)}`);
  return v;
}

/** A finite number in [`min`, `max`]: `TypeError` when not a number, `RangeError` otherwise. */
export function finiteIn(v: unknown, name: string, min: number, max = Infinity): number {
  const want = max === Infinity ? `a finite number ≥ ${min}` : `a number in [${min}, ${max}]`;
  if (typeof v !== 'number') throw new TypeError(`${name}: expected ${want}, got ${show(v)}`);
  if (!Number.isFinite(v) || v < min || v > max) throw new RangeError(`${name}: expected ${want}, got ${show(v)}`);
  return v;
}
