#!/usr/bin/env node
/**
 * W7 persistence (issue 8): rows/s into PostgreSQL vs batch size, and commit latency.
 *
 *   sohbet batch B   Sohbet's own group-commit write (SendBatcher.flush, the code every batch of
 *                    chat.send runs: members, blocks, seq, messages, read marks, user_events, one
 *                    commit), called in-process with exactly B messages, one batch in flight.
 *   sohbet send ×C   MessagesService.send from C concurrent callers: batches form by themselves.
 *   plain batch B    one `insert … select from unnest(…)` of B rows (membership checked), autocommit,
 *                    into the baselines' table (bench/baselines/schema.mjs).
 *   plain 1 row ×C   one INSERT per message from C concurrent callers: what baseline (b) does.
 * Each side gets a fresh database. Writes bench/results/w7.{json,md} (smoke/w7-smoke.* with --smoke).
 *
 *   npm run bench:w7
 *   npm run bench:w7 -- --sizes=1,10,100 --seconds=3
 *   npm run bench:w7 -- --smoke          # ~1 s per case; exits 1 if a row is missing or duplicated
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { BENCH_RATE_LIMITS, freshDatabase, machineCpu, ROOT } from './lib/env.mjs';
import { pgCpuOf } from './lib/pg-cpu.mjs';
import { summarize, round } from './lib/stats.mjs';
import { BASELINE_SCHEMA, INSERT_MESSAGE, seedPairs } from './baselines/schema.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pg = require(require.resolve('pg', { paths: [path.join(ROOT, 'packages/server')] }));

const argv = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const smoke = argv.smoke === 'true';
const list = (s) => s.split(',').map(Number).filter((x) => x > 0);
const opt = {
  smoke,
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  sizes: list(argv.sizes ?? '1,10,50,100,500'),
  concurrency: list(argv.concurrency ?? (smoke ? '10' : '10,100')),
  seconds: Number(argv.seconds ?? (smoke ? 1 : 5)),
  maxRowsPerCase: Number(argv['max-rows'] ?? (smoke ? 5_000 : 100_000)),
  conversations: Number(argv.conversations ?? (smoke ? 50 : 1000)),
  pool: Number(argv.pool ?? 10),
  hardStopMinutes: Number(argv['hard-stop-minutes'] ?? (smoke ? 3 : 15)),
  text: 'Salam! Is the bicycle still for sale? / Velosiped hələ satılır?',
  out: argv.out ?? path.join(HERE, smoke ? 'results/smoke' : 'results'),
};
const log = (...a) => console.log(`[w7 ${new Date().toISOString().slice(11, 19)}]`, ...a);

const started = { dbs: [], app: null, pool: null, dataDir: null };
async function cleanup() {
  await started.app?.close().catch(() => {});
  started.app = null;
  await started.pool?.end().catch(() => {});
  started.pool = null;
  for (const d of started.dbs.splice(0)) await d.drop().catch((e) => log('drop database failed:', e.message));
  if (started.dataDir) rmSync(started.dataDir, { recursive: true, force: true });
}
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));
const hardStop = setTimeout(() => {
  log(`global time limit (${opt.hardStopMinutes} min) reached: stopping`);
  cleanup().then(() => process.exit(2));
}, opt.hardStopMinutes * 60_000);
hardStop.unref();

/**
 * Runs `once()` (which writes `rowsPer` rows and returns how many it was refused) back to back in
 * `lanes` concurrent loops until the time or row budget is spent; measures each call's latency.
 */
async function measure(dbName, { lanes, rowsPer, once }) {
  const pgCpu = pgCpuOf(dbName);
  const sampler = setInterval(() => pgCpu.sample(), 500);
  const m0 = machineCpu();
  const cpu0 = process.cpuUsage();
  const lat = [];
  let rows = 0;
  let refused = 0;
  let errors = 0;
  let errorSample = null;
  const t0 = performance.now();
  const until = t0 + opt.seconds * 1000;
  let budget = opt.maxRowsPerCase;
  async function lane() {
    while (performance.now() < until && budget >= rowsPer) {
      budget -= rowsPer;
      const t = performance.now();
      try {
        refused += await once();
        rows += rowsPer;
      } catch (e) {
        errors++;
        errorSample ??= String(e?.message ?? e).slice(0, 300);
      }
      lat.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const pgSeconds = pgCpu.stop();
  const m1 = machineCpu();
  const nodeSeconds = (cpu.user + cpu.system) / 1e6;
  const s = summarize(lat);
  return {
    rows,
    refused,
    errors,
    errorSample,
    seconds: round(secs, 2),
    rowsPerSecond: Math.round((rows - refused) / secs),
    calls: lat.length,
    commitLatencyMs: { p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2) },
    // CPU time per row: robust to a busy host (waiting for a core does not add to it).
    nodeCpuMsPerRow: rows ? round((nodeSeconds * 1000) / rows, 3) : null,
    postgresCpuMsPerRow: rows ? round((pgSeconds * 1000) / rows, 3) : null,
    nodeCpuPct: round((nodeSeconds / secs) * 100, 0),
    postgresCpuPct: round((pgSeconds / secs) * 100, 0),
    // Host work that is neither this process nor this database's PostgreSQL processes (other people's runs).
    foreignCpuPct: round(Math.max(0, (m1.busy - m0.busy - nodeSeconds - pgSeconds) / secs) * 100, 0),
  };
}

async function sohbetCases(results) {
  const db = await freshDatabase(opt.pg);
  started.dbs.push(db);
  register();
  const imp = (p) => import(pathToFileURL(path.join(ROOT, 'packages/server/src', p)).href);
  const { buildApp } = await imp('app.ts');
  const { parseConfig } = await imp('config/config.ts');
  const { createLogger } = await imp('core/logger.ts');
  started.dataDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-w7-'));
  const config = parseConfig({
    NODE_ENV: 'production', LOG_LEVEL: 'warn', DATA_DIR: started.dataDir, DATABASE_URL: db.url, DATABASE_POOL_SIZE: String(opt.pool),
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'), SOHBET_API_KEY: randomBytes(24).toString('hex'),
    RATE_LIMITS: BENCH_RATE_LIMITS,
  });
  const app = await buildApp(config, { log: createLogger('warn') });
  started.app = app;
  const { conversations, messages } = app.services;
  const C = opt.conversations;
  const uid = (i) => `w7u${i}`;
  const convIds = new Array(C);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < C) {
        const p = next++;
        await conversations.upsertUser({ id: uid(2 * p), name: uid(2 * p), avatarUrl: null, roles: [] });
        await conversations.upsertUser({ id: uid(2 * p + 1), name: uid(2 * p + 1), avatarUrl: null, roles: [] });
        convIds[p] = (await conversations.openDirect(uid(2 * p), { userId: uid(2 * p + 1) })).id;
      }
    }),
  );
  log(`sohbet: ${C} conversations on a fresh database`);
  // SendBatcher.flush is private in TypeScript (plain JS here): it is the exact per-batch code path;
  // calling it directly is the only way to choose the batch size instead of letting group commit pick it.
  const batcher = messages['batcher'];
  if (typeof batcher?.flush !== 'function') throw new Error('MessagesService.batcher.flush not found: the send path changed, update bench/w7-persistence.mjs');
  // Count the batches group commit forms (GroupCommit calls this.flush at call time, so the wrapper sees every batch).
  const flush = batcher.flush.bind(batcher);
  let flushSizes = [];
  batcher.flush = (b) => (flushSizes.push(b.length), flush(b));
  let k = 0;
  const item = (tag) => {
    const n = k++;
    const p = n % C;
    const actorId = uid(2 * p + (Math.floor(n / C) & 1));
    return { actorId, input: { conversationId: convIds[p], clientId: `w7-${tag}-${n}`, text: opt.text } };
  };
  for (const B of opt.sizes) {
    const r = await measure(db.name, {
      lanes: 1,
      rowsPer: B,
      once: async () => {
        const promises = [];
        const batch = Array.from({ length: B }, () => {
          const it = item(`b${B}`);
          let resolve;
          let reject;
          promises.push(new Promise((a, b) => ((resolve = a), (reject = b))));
          return { item: it, ...it, resolve, reject };
        });
        await flush(batch);
        const settled = await Promise.allSettled(promises);
        const bad = settled.find((s) => s.status === 'rejected');
        if (bad) throw bad.reason;
        return 0;
      },
    });
    results.push({ path: 'sohbet', mode: `batch of ${B}`, batchSize: B, concurrency: 1, rowsPerTransaction: B, ...r });
    log(`sohbet batch ${B}: ${r.rowsPerSecond} rows/s, commit p50 ${r.commitLatencyMs.p50} p99 ${r.commitLatencyMs.p99} ms, node ${r.nodeCpuPct}% pg ${r.postgresCpuPct}%`);
  }
  for (const C2 of opt.concurrency) {
    flushSizes = [];
    const r = await measure(db.name, { lanes: C2, rowsPer: 1, once: async () => (await messages.send(...Object.values(item(`s${C2}`))), 0) });
    const formed = flushSizes.length ? round(flushSizes.reduce((a, b) => a + b, 0) / flushSizes.length, 1) : null;
    results.push({ path: 'sohbet', mode: `MessagesService.send, ${C2} concurrent`, batchSize: null, concurrency: C2, rowsPerTransaction: formed, batches: flushSizes.length, ...r });
    log(`sohbet send x${C2}: ${r.rowsPerSecond} rows/s, latency p50 ${r.commitLatencyMs.p50} p99 ${r.commitLatencyMs.p99} ms, group commit formed ${flushSizes.length} batches of ${formed} on average`);
  }
  const c = await rows(app, `select count(*)::int as n, count(distinct (conversation_id, client_id))::int as d from messages where client_id like 'w7-%'`);
  await app.close();
  started.app = null;
  return c;
}

async function rows(app, q) {
  // Verification reads through a separate client, not the service under test.
  const cl = new pg.Client({ connectionString: started.dbs[0].url });
  await cl.connect();
  try {
    return (await cl.query(q)).rows[0];
  } finally {
    await cl.end();
  }
}

async function plainCases(results) {
  const db = await freshDatabase(opt.pg);
  started.dbs.push(db);
  const pool = new pg.Pool({ connectionString: db.url, max: opt.pool });
  started.pool = pool;
  await pool.query(BASELINE_SCHEMA);
  const C = opt.conversations;
  const c0 = await pool.connect();
  await seedPairs(c0, C);
  c0.release();
  let k = 0;
  const item = (tag) => {
    const n = k++;
    const p = n % C;
    return [`c${p}`, `u${2 * p + (Math.floor(n / C) & 1)}`, `w7-${tag}-${n}`, opt.text];
  };
  const BATCH = `insert into messages (conversation_id, sender, client_id, text)
    select k.c, k.s, k.cl, k.t from unnest($1::text[], $2::text[], $3::text[], $4::text[]) k(c, s, cl, t)
    where exists (select 1 from conversation_members m where m.conversation_id = k.c and m.user_id = k.s)`;
  for (const B of opt.sizes) {
    const r = await measure(db.name, {
      lanes: 1,
      rowsPer: B,
      once: async () => {
        const cols = [[], [], [], []];
        for (let j = 0; j < B; j++) item(`b${B}`).forEach((v, i) => cols[i].push(v));
        const res = await pool.query(BATCH, cols);
        return B - res.rowCount;
      },
    });
    results.push({ path: 'plain', mode: `batch of ${B}`, batchSize: B, concurrency: 1, rowsPerTransaction: B, ...r });
    log(`plain batch ${B}: ${r.rowsPerSecond} rows/s, commit p50 ${r.commitLatencyMs.p50} p99 ${r.commitLatencyMs.p99} ms, pg ${r.postgresCpuPct}%`);
  }
  for (const C2 of opt.concurrency) {
    const r = await measure(db.name, { lanes: C2, rowsPer: 1, once: async () => 1 - (await pool.query(INSERT_MESSAGE, item(`s${C2}`))).rowCount });
    results.push({ path: 'plain', mode: `1 INSERT per message, ${C2} concurrent`, batchSize: 1, concurrency: C2, rowsPerTransaction: 1, ...r });
    log(`plain 1 row x${C2}: ${r.rowsPerSecond} rows/s, latency p50 ${r.commitLatencyMs.p50} p99 ${r.commitLatencyMs.p99} ms`);
  }
  const c = (await pool.query(`select count(*)::int as n, count(distinct client_id)::int as d from messages where client_id like 'w7-%'`)).rows[0];
  await pool.end();
  started.pool = null;
  return c;
}

function report(res, base) {
  mkdirSync(opt.out, { recursive: true });
  const jsonPath = path.join(opt.out, `${base}.json`);
  writeFileSync(jsonPath, JSON.stringify(res, null, 2));
  const H = ['path', 'mode', 'rows/s', 'commit p50 ms', 'commit p99 ms', 'max ms', 'rows/transaction', 'node CPU%', 'pg CPU%', 'other CPU%', 'node CPU ms/row', 'pg CPU ms/row', 'rows', 'errors'];
  const rowsOut = res.cases.map((r) => [r.path, r.mode, r.rowsPerSecond, r.commitLatencyMs.p50, r.commitLatencyMs.p99, r.commitLatencyMs.max, r.rowsPerTransaction ?? '—', r.nodeCpuPct, r.postgresCpuPct, r.foreignCpuPct, r.nodeCpuMsPerRow, r.postgresCpuMsPerRow, r.rows, r.errors]);
  const md = [
    `# W7 persistence — ${res.startedAt}`,
    '',
    `\`npm run bench:w7${opt.smoke ? ' -- --smoke' : ''}\`: ${opt.seconds} s per case (at most ${opt.maxRowsPerCase} rows), ${opt.conversations} conversations, pool ${opt.pool}, PostgreSQL on the same host, fresh database per side. ` +
      'Latency is per call: one batch (its whole transaction up to COMMIT) for "batch of B", one message for the concurrent cases. ' +
      '"sohbet" rows are messages written by Sohbet\'s send path, each with its seq, read marks and two user_events rows in the same transaction; "plain" rows are one INSERT into the baselines\' table. ' +
      '"node CPU%" is this process (Sohbet\'s services run in it; for plain, only the pg client). CPU % is of one core (200% = both cores); "pg CPU%" counts this database\'s backends plus the shared WAL writer/checkpointer/bgwriter; "other CPU%" is everything else on the host (other engineers\' runs: a large value means the case was measured on a busy machine). For the concurrent Sohbet case, rows/transaction is the mean batch group commit formed (counted in-process).',
    '',
    `| ${H.join(' | ')} |`,
    `|${H.map(() => '---').join('|')}|`,
    ...rowsOut.map((r) => `| ${r.join(' | ')} |`),
    '',
    `Check: sohbet ${res.check.sohbet?.n} rows / ${res.check.sohbet?.d} distinct, expected ${res.check.expected.sohbet}; plain ${res.check.plain?.n} / ${res.check.plain?.d}, expected ${res.check.expected.plain}.`,
    ...(res.problems.length ? ['', '## Problems', '', ...res.problems.map((p) => `- ${p}`)] : []),
    '',
  ];
  const mdPath = path.join(opt.out, `${base}.md`);
  writeFileSync(mdPath, md.join('\n'));
  const w = H.map((h, i) => Math.max(h.length, ...rowsOut.map((r) => String(r[i]).length)));
  console.log(['', H.map((h, i) => h.padStart(w[i])).join('  '), ...rowsOut.map((r) => r.map((c, i) => String(c).padStart(w[i])).join('  '))].join('\n'));
  return [jsonPath, mdPath];
}

async function main() {
  const res = { startedAt: new Date().toISOString(), options: { ...opt }, environment: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model }, cases: [], check: {}, problems: [] };
  delete res.options.text;
  res.check.sohbet = await sohbetCases(res.cases);
  res.check.plain = await plainCases(res.cases);
  await cleanup();
  const expect = (p) => res.cases.filter((c) => c.path === p).reduce((a, c) => a + c.rows - c.refused, 0);
  res.check.expected = { sohbet: expect('sohbet'), plain: expect('plain') };
  for (const p of ['sohbet', 'plain']) {
    const c = res.check[p];
    if (c.n !== res.check.expected[p]) res.problems.push(`${p}: ${c.n} rows stored, ${res.check.expected[p]} acknowledged`);
    if (c.d !== c.n) res.problems.push(`${p}: ${c.n - c.d} duplicated rows`);
  }
  for (const c of res.cases) {
    if (c.errors) res.problems.push(`${c.path} ${c.mode}: ${c.errors} errors (${c.errorSample})`);
    if (c.refused) res.problems.push(`${c.path} ${c.mode}: ${c.refused} rows refused`);
  }
  const files = report(res, opt.smoke ? 'w7-smoke' : 'w7');
  log(`wrote ${files.join(', ')}`);
  if (res.problems.length) {
    log(`FAILED: ${res.problems.join('; ')}`);
    process.exitCode = 1;
  }
}

main()
  .catch(async (err) => {
    console.error(err);
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => clearTimeout(hardStop));
