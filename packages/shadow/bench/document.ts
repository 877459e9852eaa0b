// Applying an update and computing the delta for a 6 KB, 6-level shadow document.
// Run: npx tsx --conditions=@outpost/source packages/shadow/bench/document.ts
import { applyUpdate, computeDelta, getDocument, type JsonObject } from '@outpost/shadow';
import { bench, report } from '@outpost/test-peers';

/** A section of `fanout^levels` leaves, nested `levels` deep (the innermost objects hold the leaves). */
function section(levels: number, fanout: number, leaf: (path: string) => number | string): JsonObject {
  const build = (depth: number, path: string): JsonObject => {
    const o: JsonObject = {};
    for (let i = 0; i < fanout; i++) o[`k${i}`] = depth === levels ? leaf(`${path}.${i}`) : build(depth + 1, `${path}.${i}`);
    return o;
  };
  return build(1, '');
}

// 2^6 = 64 leaves per section, 6 levels; padded strings bring desired + reported to ~6 KB.
const desired = section(6, 2, (p) => `v${p}-desired-value`.padEnd(34, '.'));
const reported = section(6, 2, (p) => (p.endsWith('.0.0') ? `v${p}-reported-value`.padEnd(34, '.') : `v${p}-desired-value`.padEnd(34, '.')));
const base = applyUpdate(undefined, { state: { desired, reported } }, { timestamp: 1_700_000_000 }).record;
const size = JSON.stringify(base.state.desired).length + JSON.stringify(base.state.reported).length;
const delta = computeDelta(base.state.desired, base.state.reported)!;

// A desired patch touching one leaf at depth 6 (the delta is then computed over the whole document).
const desiredPatch = { state: { desired: { k1: { k0: { k1: { k0: { k1: { k0: 'changed' } } } } } } } };
const reportedPatch = { state: { reported: { k0: { k1: { k0: { k1: { k0: { k1: 'now' } } } } } } } };

console.log(`document: desired + reported = ${size} bytes, 6 levels, ${(JSON.stringify(delta).match(/-desired-value/g) ?? []).length} leaves in the delta`);
let t = 1_700_000_001;
report('shadow document model', [
  bench('applyUpdate(desired leaf) + delta', () => applyUpdate(base, desiredPatch, { timestamp: t++ })),
  bench('applyUpdate(reported leaf)', () => applyUpdate(base, reportedPatch, { timestamp: t++ })),
  bench('computeDelta (6 KB, 6 levels)', () => computeDelta(base.state.desired, base.state.reported)),
  bench('getDocument (GET, with delta)', () => getDocument(base, { thingName: 'bench' })),
]);
