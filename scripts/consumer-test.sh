#!/usr/bin/env bash
# Consumer test: what a user of the published packages gets. Packs every package under packages/,
# installs the tarballs with npm into a temporary project outside the workspace (third-party
# dependencies from the registry, --prefer-offline), then:
#   1. every tarball carries the root LICENSE;
#   2. every entry point imports under Node and one real function of each returns the documented value;
#   3. tsc with skipLibCheck: false type-checks a consumer file under module node16 and under
#      moduleResolution bundler (types published by the packages must resolve for a consumer);
#   4. `npx outpost --help` runs, and `npx outpost lora toa` runs without DuckDB installed;
#   5. a device app bundled with esbuild by the recipe in the device-sdk README loads and runs.
# Needs `pnpm build` first (`pnpm test` runs it after the build). Exit 0 when all pass.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/outpost-consumer-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
step() { echo "consumer-test: $*"; }
fail() { echo "consumer-test: FAIL: $*" >&2; exit 1; }

mkdir -p "$WORK/tarballs" "$WORK/app"
step "packing into $WORK/tarballs"
for dir in "$ROOT"/packages/*/; do
  [ -f "$dir/dist/index.js" ] || fail "$dir has no dist/index.js: run pnpm build first"
  (cd "$dir" && pnpm pack --pack-destination "$WORK/tarballs" >/dev/null)
done
for t in "$WORK"/tarballs/*.tgz; do
  tar -xzOf "$t" package/LICENSE 2>/dev/null | cmp -s - "$ROOT/LICENSE" || fail "$(basename "$t"): LICENSE missing or not the root's"
done

# The consumer project: every tarball as a dependency, and overrides so that the packages' own
# @outpost/* dependencies resolve to the tarballs, not to the registry.
node - "$WORK" "$ROOT" <<'EOF'
const { readdirSync, writeFileSync, readFileSync } = require('node:fs');
const [work, root] = process.argv.slice(2);
const deps = {};
for (const f of readdirSync(`${work}/tarballs`)) {
  const m = /^outpost-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(f);
  if (m) deps[`@outpost/${m[1]}`] = `file:../tarballs/${f}`;
}
const rootPkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const overrides = Object.fromEntries(Object.keys(deps).map((n) => [n, `$${n}`]));
writeFileSync(`${work}/app/package.json`, JSON.stringify({
  name: 'outpost-consumer', private: true, type: 'module', dependencies: deps, overrides,
  devDependencies: { typescript: rootPkg.devDependencies.typescript, '@types/node': rootPkg.devDependencies['@types/node'] },
}, null, 2));
EOF

step "npm install (outside the workspace)"
(cd "$WORK/app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1) || { cat "$WORK/npm.log" >&2; fail "npm install"; }

cat >"$WORK/app/check.mjs" <<'EOF'
// One real call per entry point, each checked against its documented result.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@outpost/cli';
import { pingExchangeBytes } from '@outpost/device-sdk';
import { resolveTiming } from '@outpost/device-sdk/coap';
import { encodeMessage } from '@outpost/device-sdk/mqtt-sn';
import { timeFeatures } from '@outpost/edge-aggregate';
import { openBuffer } from '@outpost/edge-buffer';
import { jobsTopicPrefix } from '@outpost/jobs';
import { timeOnAir } from '@outpost/lorawan';
import { compareVersions, generateKeyPair, keyIdOf } from '@outpost/ota';
import { deviceFromTopic } from '@outpost/pipeline';
import { brokerConfig } from '@outpost/pki';
import { shadowTopic } from '@outpost/shadow';
import { LiveState } from '@outpost/console';
import { existsSync } from 'node:fs';

let help = '';
assert.equal(await run(['--help'], { stdout: (t) => (help += t), stderr: () => undefined, cwd: process.cwd() }), 0);
assert.match(help, /outpost/);
const b = pingExchangeBytes({ tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: true });
assert.equal(b.mqtt + b.tlsRecord, 62);
assert.equal(resolveTiming({}).maxTransmitWait, 93000);
assert.deepEqual([...encodeMessage({ type: 'PINGRESP' })], [0x02, 0x17]);
assert.equal(timeFeatures(new Float32Array([1, -1, 1, -1])).rms, 1);
const buf = await openBuffer({ dir: mkdtempSync(join(tmpdir(), 'eb-')), maxBytes: 1 << 20, overflow: 'reject', durability: 'batch' });
await buf.append(new Uint8Array([1, 2, 3]));
assert.equal((await buf.drain(async () => undefined)).sent, 1);
await buf.close();
assert.equal(timeOnAir({ spreadingFactor: 7, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 13 }), 46.336);
assert.ok(compareVersions('1.2.0', '1.10.0') < 0);
assert.equal(keyIdOf(generateKeyPair(new Uint8Array(32).fill(1)).publicKey).length, 8);
assert.equal(deviceFromTopic('devices/pump-1/telemetry'), 'pump-1');
assert.equal(jobsTopicPrefix('thing-1'), '$aws/things/thing-1/jobs');
assert.equal(shadowTopic('thing-1', 'update', 'accepted'), '$aws/things/thing-1/shadow/update/accepted');
assert.ok(brokerConfig({ caPath: '/ca.pem', serverCertPath: '/s.pem', serverKeyPath: '/s.key', aclPath: '/acl', port: 8883 }).acl.includes('pattern readwrite devices/%u/#'));
const live = new LiveState();
live.telemetry([{ device: 'd1', metric: 't', time: 1, value: 2 }], 1);
assert.equal(live.frame(1)?.id, 1);
// The console's page ships built inside the package.
assert.ok(existsSync(join(import.meta.dirname, 'node_modules/@outpost/console/dist/web/app.js')));
console.log('consumer-test: 13 entry points imported, one call each checked');
EOF
step "importing every entry point under Node"
(cd "$WORK/app" && node check.mjs) || fail "runtime imports"

# The same calls, type-checked: the .d.ts files of every package (and what they import) must
# compile for a consumer that does not skip library checks.
sed -e 's/^import assert.*$/import assert from "node:assert\/strict";/' "$WORK/app/check.mjs" >"$WORK/app/check.ts"
for mode in node16 bundler; do
  if [ "$mode" = node16 ]; then opts='"module": "node16", "moduleResolution": "node16"'; else opts='"module": "esnext", "moduleResolution": "bundler"'; fi
  cat >"$WORK/app/tsconfig.$mode.json" <<EOF
{ "compilerOptions": { $opts, "target": "es2022", "strict": true, "skipLibCheck": false, "noEmit": true, "types": ["node"] }, "files": ["check.ts"] }
EOF
  step "tsc --noEmit, skipLibCheck false, $mode"
  (cd "$WORK/app" && npx --no-install tsc -p "tsconfig.$mode.json") || fail "tsc ($mode)"
done

step "npx outpost --help; outpost lora toa without DuckDB; the DuckDB commands say how to install it"
(cd "$WORK/app" && npx --no-install outpost --help >"$WORK/help.txt") || fail "npx outpost --help"
[ ! -e "$WORK/app/node_modules/@duckdb/node-api" ] || fail "@duckdb/node-api was installed for the CLI"
(cd "$WORK/app" && npx --no-install outpost lora toa --sf 7 --bw 125 --cr 4/5 --bytes 13 >/dev/null) || fail "outpost lora toa"
set +e
# The installed bin directly, not npx: npm prints its own warnings on stderr (for npm_config_*
# variables that pnpm sets when it runs this script), and this check counts stderr lines.
# (The file exists: a query refuses a missing database file before it needs DuckDB.)
: >"$WORK/ts.duckdb"
(cd "$WORK/app" && ./node_modules/.bin/outpost pipeline query last --duckdb "$WORK/ts.duckdb" 2>"$WORK/duck.err" >/dev/null)
rc=$?
set -e
[ "$rc" = 1 ] && [ "$(wc -l <"$WORK/duck.err")" = 1 ] && grep -q 'install @duckdb/node-api.*\[PEER_MISSING\]' "$WORK/duck.err" ||
  fail "outpost pipeline query without DuckDB: exit $rc, stderr: $(cat "$WORK/duck.err")"
# The fleet demo is a private workspace package: the published CLI does not offer it.
! grep -q '^  demo ' "$WORK/help.txt" || fail "the published CLI lists 'demo', which it cannot run"
# 5. The bundling recipe of packages/device-sdk/README.md ("Bundling a device app"): one ESM file
# for Node. MQTT.js and its dependencies are CommonJS that require Node built-ins, which an ESM
# bundle can only do through a require made by createRequire; the optional native add-ons
# (node-aead-crypto for DTLS on old Node versions, ws's bufferutil and utf-8-validate) stay out.
step "esbuild bundle of a device app (the README's recipe), then run it"
cat >"$WORK/app/device-app.mjs" <<'EOF'
import assert from 'node:assert/strict';
import { connectDevice, DeviceError, planKeepAlive } from '@outpost/device-sdk';
import { resolveTiming } from '@outpost/device-sdk/coap';
import { encodeMessage } from '@outpost/device-sdk/mqtt-sn';
assert.equal(planKeepAlive({ natTimeoutS: 300 }).keepAliveS > 0, true);
assert.equal(resolveTiming({}).maxTransmitWait, 93000);
assert.deepEqual([...encodeMessage({ type: 'PINGRESP' })], [0x02, 0x17]);
// MQTT.js and ws run inside the bundle: a refused connection is a typed error, not a load failure.
for (const url of ['mqtt://127.0.0.1:1', 'ws://127.0.0.1:1/mqtt']) {
  const err = await connectDevice({ url, insecure: true, clientId: 'bundled', reconnect: false, connectTimeoutMs: 5000 }).then(() => undefined, (e) => e);
  assert.ok(err instanceof DeviceError, `${url}: ${err}`);
}
console.log('consumer-test: the bundled device app ran');
EOF
(cd "$WORK/app" && "$ROOT/node_modules/.bin/esbuild" device-app.mjs --bundle --platform=node --format=esm --outfile=dist/device-app.mjs \
  --banner:js="import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" \
  --external:node-aead-crypto --external:bufferutil --external:utf-8-validate --log-level=warning) || fail "esbuild bundle"
# Run it away from node_modules, as a deployed bundle would be.
mkdir -p "$WORK/deploy" && cp "$WORK/app/dist/device-app.mjs" "$WORK/deploy/"
(cd "$WORK/deploy" && node device-app.mjs) || fail "the bundled device app"
step "OK"
