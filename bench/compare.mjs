#!/usr/bin/env node
/**
 * Sohbet vs the brief's two designs, same machine, same PostgreSQL, same workload (issue 8):
 *   sohbet    the real server (`sohbet start`, env.mjs spawnServer), raw tRPC frames (bench/worker.mjs)
 *   socketio  baseline (b): socket.io, one INSERT per message, io.to(room).emit (bench/baselines/socketio-server.mjs)
 *   polling   baseline (a): HTTP POST + GET every 1.5 s per conversation (bench/baselines/polling-server.mjs)
 * Each system gets a fresh database, the same pairs and the same open-loop 1:1 rate steps, one
 * system after the other. Writes bench/results/compare.{json,md,svg} (compare-smoke.* with --smoke).
 *
 *   npm run bench:compare
 *   npm run bench:compare -- --pairs=500 --rates=250,500,1000,2000 --step-seconds=10
 *   npm run bench:compare -- --smoke      # a few seconds per system; exits 1 if anything is lost or duplicated
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { freshDatabase, machineCpu, pgStats, procSample, scrapeMetrics, serverApiBatch, sleep, spawnServer, waitForQuiet, ROOT } from './lib/env.mjs';
import { spawnBaseline } from './lib/baseline-proc.mjs';
import { pgCpuOf } from './lib/pg-cpu.mjs';
import { forkWorker } from './lib/fork-rpc.mjs';
import { summarize, round } from './lib/stats.mjs';
import { judge, writeCompareReports } from './lib/compare-report.mjs';
import { seedPairs } from './baselines/schema.mjs';

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
  systems: (argv.systems ?? 'sohbet,socketio,polling').split(','),
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  pairs: Number(argv.pairs ?? (smoke ? 20 : 500)),
  rates: list(argv.rates ?? (smoke ? '20,60' : '250,500,1000,2000')),
  stepSeconds: Number(argv['step-seconds'] ?? (smoke ? 3 : 10)),
  drainSeconds: Number(argv['drain-seconds'] ?? (smoke ? 6 : 15)),
  inflightSeconds: Number(argv['inflight-seconds'] ?? 3),
  backlogSeconds: Number(argv['backlog-seconds'] ?? (smoke ? 10 : 60)),
  workers: Number(argv.workers ?? (smoke ? 1 : 2)),
  pool: Number(argv.pool ?? 10),
  pollMs: Number(argv['poll-ms'] ?? 1500),
  // 'raw' (default) = socket.io frames written by hand, as cheap per message as Sohbet's raw tRPC generator
  // (on 2 shared cores socket.io-client's decoding costs the baseline ~10% of a core at 1,000 msg/s); 'lib' = socket.io-client.
  socketioClient: argv['socketio-client'] ?? 'raw',
  // interleaved: all systems set up at once, then each rate step runs on every system in turn (the host's
  // background load then hits all of them alike); sequential: one whole system after the other.
  order: argv.order ?? 'interleaved',
  quietWaitMs: Number(argv['quiet-wait-ms'] ?? (smoke ? 0 : 45_000)),
  // A step during which other people's work used more than this (% of one core) is measured again
  // (up to --retries times); the least contaminated attempt is reported, the others are kept in the JSON.
  maxOtherCpu: Number(argv['max-other-cpu'] ?? (smoke ? Infinity : 50)),
  retries: Number(argv.retries ?? (smoke ? 0 : 1)),
  // After an aborted step the system is saturated; higher steps only pile up backlog on a shared host.
  continueAfterAbort: argv['continue-after-abort'] === 'true',
  hardStopMinutes: Number(argv['hard-stop-minutes'] ?? (smoke ? 4 : 30)),
  text: 'Salam! Is the bicycle still for sale? / Velosiped hələ satılır?',
  out: argv.out ?? path.join(HERE, smoke ? 'results/smoke' : 'results'),
};
for (const s of opt.systems) if (!['sohbet', 'socketio', 'polling'].includes(s)) throw new Error(`unknown system ${s}`);

const log = (...a) => console.log(`[compare ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------- cleanup (only what this run started)
/** Every system context this run set up: { system, db, server, workers }. */
const started = [];
async function tearDown(ctx) {
  for (const w of ctx.workers ?? []) w.kill();
  ctx.workers = [];
  if (ctx.server) await ctx.server.stop().catch(() => {});
  ctx.server = null;
  if (ctx.db) await ctx.db.drop().catch((e) => log('drop database failed:', e.message));
  ctx.db = null;
}
const cleanupAll = () => Promise.all(started.map(tearDown));
process.on('SIGINT', () => cleanupAll().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanupAll().then(() => process.exit(143)));
const hardStop = setTimeout(() => {
  log(`global time limit (${opt.hardStopMinutes} min) reached: stopping`);
  cleanupAll().then(() => process.exit(2));
}, opt.hardStopMinutes * 60_000);
hardStop.unref();

// ---------------------------------------------------------------- per system setup
/** Starts one system on a fresh database, connects 2 x pairs clients; returns what the step loop needs. */
async function setUp(ctx) {
  const { system } = ctx;
  ctx.db = await freshDatabase(opt.pg);
  const P = opt.pairs;
  let server;
  let users;
  let convIds;
  let workerFile;
  let connectArgs;
  if (system === 'sohbet') {
    server = await spawnServer({ databaseUrl: ctx.db.url, poolSize: opt.pool });
    ctx.server = server;
    const uid = (i) => `cu${i}`;
    await serverApiBatch(server, 'server.upsertUser', Array.from({ length: 2 * P }, (_, i) => ({ id: uid(i), name: `Bench ${i}` })));
    const convs = await serverApiBatch(server, 'server.openConversation', Array.from({ length: P }, (_, p) => ({ userIds: [uid(2 * p), uid(2 * p + 1)] })));
    convIds = convs.map((c) => c.id);
    users = Array.from({ length: 2 * P }, (_, i) => ({ idx: i, token: server.token(uid(i)) }));
    workerFile = path.join(HERE, 'worker.mjs');
    connectArgs = { wsUrl: server.wsUrl };
  } else {
    server = await spawnBaseline({ kind: system, databaseUrl: ctx.db.url, poolSize: opt.pool });
    ctx.server = server;
    const c = new pg.Client({ connectionString: ctx.db.url });
    await c.connect();
    await seedPairs(c, P);
    await c.end();
    convIds = Array.from({ length: P }, (_, p) => `c${p}`);
    users = Array.from({ length: 2 * P }, (_, i) => ({ idx: i, userId: `u${i}`, convs: [convIds[Math.floor(i / 2)]] }));
    workerFile = path.join(HERE, 'lib/baseline-worker.mjs');
    connectArgs = { url: server.url, kind: system === 'socketio' && opt.socketioClient === 'raw' ? 'socketio-raw' : system, pollMs: opt.pollMs };
  }
  const workers = Array.from({ length: opt.workers }, (_, k) => forkWorker(workerFile, k));
  ctx.workers = workers;
  // Pair p (users 2p, 2p+1) lives in worker p % W, so one clock measures send and receipt.
  const byW = workers.map(() => []);
  for (const u of users) byW[Math.floor(u.idx / 2) % opt.workers].push(u);
  const tc = performance.now();
  const res = await Promise.all(workers.map((w, k) => w.call('connect', { ...connectArgs, users: byW[k], concurrency: 32 }, 600_000)));
  const connectSeconds = (performance.now() - tc) / 1000;
  const connected = res.reduce((a, r) => a + r.connected, 0);
  const failed = res.reduce((a, r) => a + r.failed, 0);
  if (failed) throw new Error(`${system}: ${failed} clients failed to connect: ${JSON.stringify(res.flatMap((r) => r.failures).slice(0, 3))}`);
  const pairsByW = workers.map(() => []);
  convIds.forEach((id, p) => pairsByW[p % opt.workers].push({ a: 2 * p, b: 2 * p + 1, conversationId: id }));
  await Promise.all(workers.map((w, k) => w.call('pairs', { pairs: pairsByW[k] })));
  log(`${system}: server pid ${server.pid}, ${connected} clients connected in ${connectSeconds.toFixed(1)} s`);
  ctx.out = { system, connectedClients: connected, connectSeconds: round(connectSeconds, 1), steps: [] };
}

// ---------------------------------------------------------------- one open-loop step
/** Last acknowledgement time relative to t0 from a worker's ackLat (index k = message k when all acked). */
function ackSpanMs(r, perWorkerRate) {
  if (r.ackLat.length !== r.n) return null;
  const interval = 1000 / perWorkerRate;
  let m = 0;
  for (let k = 0; k < r.n; k++) m = Math.max(m, k * interval + r.ackLat[k]);
  return m;
}

async function runStep(ctx, { step, rate, seconds, warmup = false }) {
  const { server, workers, system } = ctx;
  const pids = [server.pid, process.pid, ...workers.map((w) => w.proc.pid)];
  const quiet = opt.quietWaitMs > 0 ? await waitForQuiet(pids, { maxWaitMs: opt.quietWaitMs, log }) : { waitedMs: 0 };
  const perWorker = rate / workers.length;
  const startAt = Date.now() + 300;
  if (system === 'sohbet') await scrapeMetrics(server); // resets the event-loop histogram
  const pgBefore = await pgStats(opt.pg, ctx.db.name).catch(() => null);
  const p0 = procSample(server.pid);
  const pgCpu = pgCpuOf(ctx.db.name);
  const m0 = machineCpu();
  const c0 = performance.now();
  let rssPeak = p0.rss;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, procSample(server.pid).rss);
    pgCpu.sample();
  }, 500);
  const res = await Promise.all(
    workers.map((w) =>
      w.call('step', { step, rate: perWorker, durationMs: seconds * 1000, startAt, drainMs: opt.drainSeconds * 1000, maxBehindMs: opt.inflightSeconds * 1000, text: opt.text }, (seconds + opt.drainSeconds + 60) * 1000),
    ),
  );
  clearInterval(sampler);
  const p1 = procSample(server.pid);
  const pgSeconds = pgCpu.stop();
  const m1 = machineCpu();
  // CPU shares over exactly the window the /proc samples cover (includes the drain).
  const cpuWall = (performance.now() - c0) / 1000;
  const metrics = system === 'sohbet' ? await scrapeMetrics(server) : {};
  const pgAfter = await pgStats(opt.pg, ctx.db.name).catch(() => null);
  const wall = Math.max(...res.map((r) => r.wallSeconds));
  const sent = res.reduce((a, r) => a + r.sent, 0);
  const acked = res.reduce((a, r) => a + r.acked, 0);
  const delivered = res.reduce((a, r) => a + r.delivered, 0);
  const lat = summarize(res.flatMap((r) => r.lat));
  const ack = summarize(res.flatMap((r) => r.ackLat));
  const spanS = Math.max(...res.map((r) => r.spanMs)) / 1000;
  const ackSpans = res.map((r) => ackSpanMs(r, perWorker));
  const genCpu = res.reduce((a, r) => a + r.cpuSeconds, 0);
  const row = {
    step,
    offeredRate: rate,
    seconds,
    planned: res.reduce((a, r) => a + r.n, 0),
    sent,
    acked,
    ackErrors: res.reduce((a, r) => a + r.ackErrors, 0),
    errorSamples: res.flatMap((r) => r.errorSamples).slice(0, 3),
    sendFailed: res.reduce((a, r) => a + r.sendFailed, 0),
    aborted: res.reduce((a, r) => a + r.aborted, 0),
    delivered,
    undeliveredAtDeadline: res.reduce((a, r) => a + r.undeliveredAtDeadline, 0),
    dup: res.reduce((a, r) => a + r.dup, 0),
    echoes: res.reduce((a, r) => a + r.echoes, 0),
    achievedRate: Math.round(delivered / Math.max(spanS, 1e-3)),
    persistedRate: ackSpans.every((s) => s !== null) ? Math.round(acked / (Math.max(...ackSpans) / 1000)) : null,
    latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 2)])),
    ackLatencyMs: { p50: round(ack.p50, 2), p99: round(ack.p99, 2), max: round(ack.max, 2) },
    generatorSendLagMs: { p99: round(Math.max(...res.map((r) => r.sendLagP99)), 2), max: round(Math.max(...res.map((r) => r.sendLagMax)), 2) },
    // CPU time per message is the contention-robust figure: waiting for a core does not add to it.
    serverCpuMsPerMessage: sent ? round(((p1.cpu - p0.cpu) * 1000) / sent, 3) : null,
    postgresCpuMsPerMessage: sent ? round((pgSeconds * 1000) / sent, 3) : null,
    serverCpuPct: round(((p1.cpu - p0.cpu) / cpuWall) * 100, 0),
    postgresCpuPct: round((pgSeconds / cpuWall) * 100, 0),
    generatorCpuPct: round((genCpu / cpuWall) * 100, 0),
    machineCpuPct: round(((m1.busy - m0.busy) / cpuWall) * 100, 0),
    foreignCpuPct: round(Math.max(0, (m1.busy - m0.busy - (p1.cpu - p0.cpu) - pgSeconds - genCpu) / cpuWall) * 100, 0),
    waitedForQuietMs: quiet.waitedMs,
    serverRssPeak: Math.max(rssPeak, p1.rss),
    eventLoopLagP99Ms: metrics.lagP99 != null ? round(metrics.lagP99 * 1000, 2) : null,
    unexpectedCloses: res.reduce((a, r) => a + r.unexpectedCloses, 0),
    wallSeconds: round(wall, 2),
  };
  if (pgBefore && pgAfter && sent) {
    const d = (k) => pgAfter[k] - pgBefore[k];
    row.postgresPerMessage = { commits: round(d('commits') / sent, 2), rowsInserted: round(d('inserted') / sent, 2), rowsUpdated: round(d('updated') / sent, 2) };
  }
  log(
    `${system} ${warmup ? 'warm-up' : 'step'} ${rate}/s x ${seconds}s: sent ${sent}${row.aborted ? ` (ABORTED ${row.aborted})` : ''}, delivered ${delivered}, dup ${row.dup}, errors ${row.ackErrors}, ` +
      `achieved ${row.achievedRate}/s, persisted ${row.persistedRate ?? '—'}/s, p50 ${row.latencyMs.p50} p99 ${row.latencyMs.p99} max ${row.latencyMs.max} ms; ` +
      `server ${row.serverCpuPct}%, pg ${row.postgresCpuPct}%, gen ${row.generatorCpuPct}%, other ${row.foreignCpuPct}%`,
  );
  if (row.errorSamples.length) log('  error sample:', row.errorSamples[0]);
  return row;
}

/** Polling clients poll all the time; between their own steps they pause so they do not load the other systems' steps. */
async function setPolling(ctx, on) {
  if (ctx.system === 'polling') await Promise.all(ctx.workers.map((w) => w.call(on ? 'resume' : 'pause')));
}

/** One measured step of one system plus its bounded backlog wait; a system that throws is torn down and marked failed. */
async function stepOf(ctx, rate, stepNo, warmup = false) {
  const out = ctx.out;
  try {
    const attempts = [];
    const tries = warmup ? 0 : opt.retries;
    for (let a = 0; a <= tries; a++) {
      await setPolling(ctx, true);
      // Each attempt is its own step number (its own clientIds), so lost/dup stay per attempt.
      const r = await runStep(ctx, { step: stepNo * 10 + a, rate, seconds: warmup ? (smoke ? 1 : 3) : opt.stepSeconds, warmup });
      r.attempt = a;
      attempts.push(r);
      // Let the system work off its backlog (bounded) so steps do not overlap.
      const rec0 = Date.now();
      let left = 0;
      for (let k = 0; k < opt.backlogSeconds * 2; k++) {
        left = (await Promise.all(ctx.workers.map((w) => w.call('pending')))).reduce((a2, x) => a2 + x.pending, 0);
        if (left === 0) break;
        await sleep(500);
      }
      r.backlogRecoverySeconds = round((Date.now() - rec0) / 1000, 1);
      if (left) log(`  ${left} messages still undelivered ${opt.backlogSeconds} s after the step`);
      await setPolling(ctx, false);
      await sleep(smoke ? 200 : 2000);
      if (!(r.foreignCpuPct > opt.maxOtherCpu)) break;
      if (a < tries) log(`  ${ctx.system} ${rate}/s: other work used ${r.foreignCpuPct}% of a core during the step (> ${opt.maxOtherCpu}%): measuring again`);
    }
    const best = attempts.reduce((b, r) => (r.foreignCpuPct < b.foreignCpuPct ? r : b));
    best.contaminatedAttempts = attempts.filter((r) => r !== best);
    if (warmup) out.warmup = best;
    else out.steps.push(best);
  } catch (err) {
    await fail(ctx, err);
  }
}

async function fail(ctx, err) {
  log(`${ctx.system} failed: ${err.stack ?? err}`);
  if (ctx.server?.output) log('server output tail:\n' + ctx.server.output.slice(-20).join(''));
  ctx.out ??= { system: ctx.system, steps: [] };
  ctx.out.failed = String(err.message ?? err);
  await tearDown(ctx);
}

/** After all steps: lost (never arrived) and duplicates per step, generator stats; then stop the system. */
async function finish(ctx) {
  const out = ctx.out;
  if (out.failed) return;
  try {
    const fin = await Promise.all(ctx.workers.map((w) => w.call('finalCheck')));
    for (const r of [out.warmup, ...out.steps].flatMap((x) => (x ? [x, ...(x.contaminatedAttempts ?? [])] : []))) {
      if (r.skipped) continue;
      r.lateAfterDeadline = fin.reduce((a, f) => a + (f[r.step]?.late ?? 0), 0);
      r.lost = fin.reduce((a, f) => a + (f[r.step]?.never ?? 0), 0);
      r.dup = fin.reduce((a, f) => a + (f[r.step]?.dup ?? 0), 0);
      // Baseline generators say why a message never arrived (bench/worker.mjs does not; Sohbet acks and delivers through one stream).
      if (fin.every((f) => f[r.step]?.why)) {
        r.lostBreakdown = { afterSuccessfulAck: 0, sendError: 0, neverAnswered: 0 };
        for (const f of fin) {
          r.lostBreakdown.afterSuccessfulAck += f[r.step].why.afterAck;
          r.lostBreakdown.sendError += f[r.step].why.sendError;
          r.lostBreakdown.neverAnswered += f[r.step].why.unacked;
        }
        r.ackErrorsFinal = fin.reduce((a, f) => a + f[r.step].ackErrors, 0);
      }
    }
    const stats = await Promise.all(ctx.workers.map((w) => w.call('stats')));
    out.generator = { unexpectedCloses: stats.reduce((a, s) => a + s.unexpectedCloses, 0), polls: stats.reduce((a, s) => a + (s.polls ?? 0), 0), pollErrors: stats.reduce((a, s) => a + (s.pollErrors ?? 0), 0) };
    await Promise.all(ctx.workers.map((w) => w.call('exit', {}, 30_000).catch(() => {})));
  } catch (err) {
    out.failed = String(err.message ?? err);
  }
  await tearDown(ctx);
  Object.assign(out, judge(out, opt));
}

/**
 * Runs the steps of `ctxs` (already set up): rate by rate, each system in turn, the order rotated per
 * rate so no system is always first. With one context this is the plain sequential run.
 */
async function runSteps(ctxs) {
  for (const ctx of ctxs) if (!ctx.out.failed) await stepOf(ctx, Math.min(100, opt.rates[0]), 0, true);
  for (const [j, rate] of opt.rates.entries()) {
    const order = ctxs.map((_, k) => ctxs[(k + j) % ctxs.length]);
    for (const ctx of order) {
      if (ctx.out.failed) continue;
      const sat = ctx.out.steps.find((r) => r.aborted);
      if (sat && !opt.continueAfterAbort) {
        ctx.out.steps.push({ step: j + 1, offeredRate: rate, skipped: `saturated: the ${sat.offeredRate}/s step was aborted` });
        log(`${ctx.system} ${rate}/s: skipped (saturated at ${sat.offeredRate}/s)`);
        continue;
      }
      await stepOf(ctx, rate, j + 1);
    }
  }
}

function environment() {
  let commit = 'unknown';
  let pgVersion = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {}
  try {
    pgVersion = execFileSync('psql', ['--version']).toString().trim();
  } catch {}
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memTotal: os.totalmem(),
    commit,
    psql: pgVersion,
    socketIo: require(path.join(ROOT, 'node_modules/socket.io/package.json')).version,
    generator: `${opt.workers} forked generator process(es) per system on the same host as the server and PostgreSQL`,
  };
}

async function main() {
  const t0 = Date.now();
  const results = { startedAt: new Date().toISOString(), options: { ...opt }, environment: environment(), systems: [] };
  delete results.options.text;
  const ctxs = opt.systems.map((system) => ({ system, workers: [] }));
  started.push(...ctxs);
  const setUpOne = async (ctx) => {
    const t = Date.now();
    try {
      await setUp(ctx);
      await setPolling(ctx, false);
    } catch (err) {
      await fail(ctx, err);
    }
    ctx.setupSeconds = Math.round((Date.now() - t) / 1000);
  };
  if (opt.order === 'interleaved') {
    for (const ctx of ctxs) await setUpOne(ctx);
    await runSteps(ctxs);
    for (const ctx of ctxs) await finish(ctx);
  } else {
    for (const ctx of ctxs) {
      await setUpOne(ctx);
      if (!ctx.out.failed) await runSteps([ctx]);
      await finish(ctx);
    }
  }
  results.systems = ctxs.map((c) => c.out);
  results.durationSeconds = Math.round((Date.now() - t0) / 1000);
  const { files, problems } = writeCompareReports(results, opt.out, smoke ? 'compare-smoke' : 'compare');
  log(`wrote ${files.join(', ')}`);
  if (problems.length) {
    log(`FAILED: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
}

main()
  .catch(async (err) => {
    console.error(err);
    await cleanupAll();
    process.exitCode = 1;
  })
  .finally(() => clearTimeout(hardStop));
