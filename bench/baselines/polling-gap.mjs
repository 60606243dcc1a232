#!/usr/bin/env node
/**
 * Shows, deterministically, how baseline (a) can lose a message for good: a poller that remembers
 * the highest bigserial it saw (`GET …&after=<seq>`) skips a row whose INSERT took its number first
 * but committed after a later-numbered one. Two connections, one fresh database, no timing luck:
 *   A: insert (takes seq 1, not committed yet)   B: insert, commit (seq 2)
 *   poll after=0 -> [2], cursor = 2              A: commit (seq 1 becomes visible)
 *   poll after=2 -> []                           seq 1 is never returned to this poller.
 * Under load the window is a commit's WAL flush wide, and the compare run counts such messages as
 * "stored and acknowledged but never delivered". Sohbet takes a per-conversation seq under the
 * conversation's row lock inside the insert transaction (G1), so seqs commit in order.
 *   node bench/baselines/polling-gap.mjs      (exit 0 when the gap reproduces)
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { freshDatabase, ROOT } from '../lib/env.mjs';
import { BASELINE_SCHEMA, MESSAGES_AFTER, INSERT_MESSAGE, seedPairs } from './schema.mjs';

const require = createRequire(import.meta.url);
const pg = require(require.resolve('pg', { paths: [path.join(ROOT, 'packages/server')] }));
const db = await freshDatabase(process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet');
const a = new pg.Client({ connectionString: db.url });
const b = new pg.Client({ connectionString: db.url });
try {
  await a.connect();
  await b.connect();
  await a.query(BASELINE_SCHEMA);
  await seedPairs(a, 1); // conversation c0 between u0 and u1
  await a.query('begin');
  await a.query(INSERT_MESSAGE, ['c0', 'u0', 'from-a', 'first to take a number']);
  await b.query(INSERT_MESSAGE, ['c0', 'u1', 'from-b', 'first to commit']);
  const poll1 = (await b.query(MESSAGES_AFTER, ['c0', '0', 'u1', 200])).rows;
  const cursor = poll1.at(-1).seq;
  await a.query('commit');
  const poll2 = (await b.query(MESSAGES_AFTER, ['c0', cursor, 'u1', 200])).rows;
  const stored = (await b.query('select seq::text, client_id from messages order by seq')).rows;
  const seen = new Set([...poll1, ...poll2].map((r) => r.client_id));
  const missed = stored.filter((r) => !seen.has(r.client_id));
  console.log(`stored: ${stored.map((r) => `${r.client_id}@${r.seq}`).join(', ')}`);
  console.log(`poll after=0: ${poll1.map((r) => `${r.client_id}@${r.seq}`).join(', ')}; cursor ${cursor}; poll after=${cursor}: ${poll2.length} rows`);
  console.log(missed.length ? `never delivered to the poller: ${missed.map((r) => `${r.client_id}@${r.seq}`).join(', ')}` : 'no gap (unexpected)');
  process.exitCode = missed.length ? 0 : 1;
} finally {
  await a.end().catch(() => {});
  await b.end().catch(() => {});
  await db.drop();
}
