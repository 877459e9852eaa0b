#!/usr/bin/env bash
# Release dry run: what `changeset version` + `changeset publish` would do, without publishing.
# In a temporary worktree of HEAD (nothing in this checkout changes):
#   1. `changeset version` applies the pending changesets (.changeset/*.md): new versions, the
#      internal dependency ranges, and a CHANGELOG.md per package;
#   2. `pnpm build` builds every package and runs publint --strict and attw on each packed tarball;
#   3. `pnpm publish --dry-run` packs each public package as npm would publish it;
#   4. prints each package's version before → after and its tarball's file count.
# Exit 0 when every step passes. A real release is the same with `pnpm changeset publish`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WT="$(mktemp -d "${TMPDIR:-/tmp}/outpost-release-XXXXXX")"
cleanup() { git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"; }
trap cleanup EXIT
step() { echo "release-dry-run: $*"; }
fail() { echo "release-dry-run: FAIL: $*" >&2; exit 1; }

step "worktree of $(git -C "$ROOT" rev-parse --short HEAD) in $WT"
rmdir "$WT" && git -C "$ROOT" worktree add --detach "$WT" HEAD >/dev/null
cd "$WT"
pending=$(find .changeset -name '*.md' ! -name README.md | wc -l)
[ "$pending" -gt 0 ] || fail "no pending changesets in .changeset/ (add one with pnpm changeset)"
step "pnpm install (frozen lockfile)"
pnpm install --frozen-lockfile --prefer-offline >"$WT/.install.log" 2>&1 || { tail -20 "$WT/.install.log" >&2; fail "pnpm install"; }
before=$(node -e 'const fs=require("fs");const o={};for(const d of fs.readdirSync("packages")){const p=JSON.parse(fs.readFileSync(`packages/${d}/package.json`));o[p.name]=p.version}console.log(JSON.stringify(o))')
step "changeset version ($pending pending)"
pnpm exec changeset version >/dev/null || fail "changeset version"
step "pnpm build (publint --strict and attw per package)"
pnpm build >"$WT/.build.log" 2>&1 || { tail -40 "$WT/.build.log" >&2; fail "pnpm build"; }
step "pnpm publish --dry-run per package"
for dir in packages/*/; do
  name=$(node -p "require('./$dir/package.json').name")
  if [ "$(node -p "require('./$dir/package.json').private === true")" = true ]; then continue; fi
  (cd "$dir" && pnpm publish --dry-run --no-git-checks --access public --json >"$WT/.publish.json" 2>"$WT/.publish.err") || { cat "$WT/.publish.err" >&2; fail "publish --dry-run $name"; }
  files=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=Array.isArray(j)?j[0]:(j.files?j:Object.values(j)[0]);console.log(v.files.length)' "$WT/.publish.json")
  old=$(node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$before" "$name")
  new=$(node -p "require('./$dir/package.json').version")
  [ -f "$dir/CHANGELOG.md" ] || [ "$old" = "$new" ] || fail "$name: version $old → $new without a CHANGELOG.md"
  printf 'release-dry-run:   %-26s %s → %s  (%s files)\n' "$name" "$old" "$new" "$files"
done
step "OK"
