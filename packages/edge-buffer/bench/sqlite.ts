// The better-sqlite3 contender shared by the benches: a queue table in WAL mode with
// synchronous=FULL (every commit fsynced), as an embedded durable queue would use it.
import { join } from 'node:path';
import { createRequire } from 'node:module';

// better-sqlite3 ships no types and @types/better-sqlite3 is not installed: the few calls used here.
export interface Statement {
  run(...params: unknown[]): unknown;
}
export interface Db {
  pragma(sql: string): unknown;
  exec(sql: string): unknown;
  prepare(sql: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Db;

/** A fresh queue database in `dir` and its insert statement. */
export function openQueueDb(dir: string): { db: Db; ins: Statement } {
  const db = new Database(join(dir, 'q.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE q (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
  return { db, ins: db.prepare('INSERT INTO q (payload) VALUES (?)') };
}
