// `outpost buffer inspect|verify|export DIR`: look into an @outpost/edge-buffer directory without
// opening it (nothing is repaired, truncated or renamed), CRC-check every record, and copy
// damaged and quarantined bytes out for forensics.
import { copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inspectBuffer, type BufferReport } from '@outpost/edge-buffer';
import { CliError, defineCommand, emit, requireString, type Command, type Io } from '../command.js';

function dirArg(io: Io, positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new CliError('USAGE', `expected one buffer directory (${usage})`, 2);
  return resolve(io.cwd, positionals[0]!);
}

async function report(dir: string, verify: boolean): Promise<BufferReport> {
  try {
    return await inspectBuffer({ dir, verify });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError('NOT_FOUND', `${dir}: no such buffer directory`);
    throw err;
  }
}

/** Human-readable lines for a report. */
function formatReport(r: BufferReport): string {
  const lines: string[] = [`buffer ${r.dir}${r.verified ? ' (every record CRC-checked)' : ''}`];
  const c = r.checkpoint;
  if (c === undefined) lines.push('  checkpoint   none');
  else if ('error' in c) lines.push(`  checkpoint   UNREADABLE: ${c.error}`);
  else lines.push(`  checkpoint   acked ${c.ackedSeq}, high-water mark ${c.highSeq}, ${c.indexed} segment(s) sealed`);
  lines.push(`  records      ${r.records} unacknowledged, readable`);
  lines.push(`  segments     ${r.segments.length}`);
  for (const s of r.segments) {
    const range = s.records > 0 ? `seq ${s.baseSeq}..${s.lastSeq}` : `base ${s.baseSeq}, empty`;
    lines.push(`    ${s.file}  ${range}  ${s.records} records  ${s.bytes} bytes  ${s.checked ? 'checked' : 'sealed'}`);
  }
  for (const d of r.damage) lines.push(`  DAMAGE       ${d.file} bytes ${d.offset}..${d.offset + d.bytes}: ${d.reason}`);
  for (const l of r.lost) lines.push(`  LOST         seq ${l.firstSeq}..${l.lastSeq} (${l.count}): ${l.reason}`);
  for (const x of r.repairs) lines.push(`  REPAIR       next open will ${x.action} ${x.file} at ${x.offset}: ${x.reason}`);
  for (const q of r.quarantine) lines.push(`  QUARANTINE   ${q.file} (${q.bytes} bytes)`);
  if (r.damage.length + r.lost.length + r.repairs.length === 0) lines.push('  OK           no damage, nothing lost');
  return lines.join('\n');
}

async function copyRange(from: string, to: string, offset: number, bytes: number): Promise<void> {
  const f = await open(from, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await f.read(buf, 0, bytes, offset);
    await writeFile(to, buf.subarray(0, bytesRead));
  } finally {
    await f.close();
  }
}

export const bufferCommands: readonly Command[] = [
  defineCommand({
    path: ['buffer', 'inspect'],
    summary: 'describe an edge-buffer directory: segments, checkpoint, damage, lost ranges',
    positionals: 'DIR',
    about: `Describes an edge-buffer directory without changing it: segments (seq range, records, bytes),
the checkpoint (acknowledged seq, high-water mark, segments in the seal's index), damaged byte
ranges, lost seq ranges, files set aside (*.quarantine) and the repairs the next open would
make. Segments the seal covers are not CRC-checked (use "outpost buffer verify" for that).`,
    flags: {},
    example: 'outpost buffer inspect /var/lib/myapp/telemetry',
    async run({ values, positionals }, io) {
      const r = await report(dirArg(io, positionals, 'outpost buffer inspect DIR'), false);
      emit(io, values.json, r, formatReport(r));
      return 0;
    },
  }),
  defineCommand({
    path: ['buffer', 'verify'],
    summary: 'CRC-check every record of an edge-buffer directory; exit 1 on damage',
    positionals: 'DIR',
    about: `CRC-checks every record of every segment, including those a clean close sealed, and prints the
same report as "inspect". Exits 0 when the buffer is intact, 1 when it found damaged bytes, lost
records or repairs pending. Read-only: run it on a stopped buffer (a running one may be
appending to its newest segment).`,
    flags: {},
    example: 'outpost buffer verify /var/lib/myapp/telemetry --json',
    async run({ values, positionals }, io) {
      const r = await report(dirArg(io, positionals, 'outpost buffer verify DIR'), true);
      emit(io, values.json, r, formatReport(r));
      return r.damage.length + r.lost.length + r.repairs.length === 0 ? 0 : 1;
    },
  }),
  defineCommand({
    path: ['buffer', 'export'],
    summary: 'copy damaged and quarantined bytes of an edge-buffer directory out for forensics',
    positionals: 'DIR',
    about: `Copies, for forensics, every damaged byte range found by a full verification
("<segment>.<offset>-<end>.damaged") and every file set aside ("*.quarantine") into the
output directory, with manifest.json (the verify report and the list of files written).
The buffer directory is not changed.`,
    flags: { out: { type: 'string', arg: 'DIR', required: true, help: 'where to write (created if missing)' } },
    example: 'outpost buffer export /var/lib/myapp/telemetry --out ./buffer-forensics',
    async run({ values, positionals }, io) {
      const dir = dirArg(io, positionals, 'outpost buffer export DIR --out DIR');
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      if (out === dir) throw new CliError('USAGE', '--out must not be the buffer directory', 2);
      const r = await report(dir, true);
      await mkdir(out, { recursive: true });
      const files: Array<{ file: string; from: string; offset: number; bytes: number }> = [];
      for (const d of r.damage) {
        const file = `${d.file}.${d.offset}-${d.offset + d.bytes}.damaged`;
        await copyRange(join(dir, d.file), join(out, file), d.offset, d.bytes);
        files.push({ file, from: d.file, offset: d.offset, bytes: d.bytes });
      }
      for (const q of r.quarantine) {
        await copyFile(join(dir, q.file), join(out, q.file));
        files.push({ file: q.file, from: q.file, offset: 0, bytes: q.bytes });
      }
      const manifest = { out, files, report: r };
      await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      const human = [`exported ${files.length} file(s) to ${out}`, ...files.map((f) => `  ${f.file}  (${f.bytes} bytes of ${f.from} at ${f.offset})`), '  manifest.json'].join('\n');
      emit(io, values.json, manifest, human);
      return 0;
    },
  }),
];
