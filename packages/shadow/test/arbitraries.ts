// fast-check arbitraries for shadow sections and patches: few keys (so updates collide), shallow
// nesting, arrays without null (AWS refuses null in arrays).
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../src/index.js';

export const key = fc.constantFrom('a', 'b', 'c', 'cfg', 'x', '__proto__');
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('on', 'off', ''), fc.boolean());
const arrayValue: fc.Arbitrary<JsonValue> = fc.array(scalar, { maxLength: 3 });

/** A state section: no null anywhere. */
export const section: fc.Arbitrary<JsonObject> = fc.letrec<{ obj: JsonObject; val: JsonValue }>((tie) => ({
  obj: fc.dictionary(key, tie('val'), { maxKeys: 3 }) as fc.Arbitrary<JsonObject>,
  val: fc.oneof({ depthSize: 'small', maxDepth: 3, withCrossShrink: true }, scalar, arrayValue, tie('obj')),
})).obj;

/** An update patch: like a section, plus null (delete) at object positions. */
export const patch: fc.Arbitrary<JsonObject> = fc.letrec<{ obj: JsonObject; val: JsonValue }>((tie) => ({
  obj: fc.dictionary(key, tie('val'), { maxKeys: 3 }) as fc.Arbitrary<JsonObject>,
  val: fc.oneof({ depthSize: 'small', maxDepth: 3, withCrossShrink: true }, scalar, fc.constant(null), arrayValue, tie('obj')),
})).obj;
