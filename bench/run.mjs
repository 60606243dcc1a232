#!/usr/bin/env node
/**
 * Sohbet benchmark (issue 2): W1 idle connections, W2 open-loop 1:1 messaging persisted on
 * PostgreSQL, and resume of 1,000 missed events. Spawns the real server as a child process
 * against a fresh database, drives it from forked load-generator processes over raw tRPC
 * WebSocket frames, and writes bench/results/<date>.json, latest.md and latency.svg.
 *
 *   npm run bench                       # everything (~6-9 min)
 *   npm run bench -- --quick            # short smoke run (~1.5 min)
 *   npm run bench -- --only=w2 --rates=1000,2000 --step-seconds=10
 *   npm run bench -- --profile          # also --cpu-prof the server (whole run); top frames in the report
 * See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freshDatabase, machineCpu, waitForQuiet, pgStats, postgresCpu, procSample, scrapeMetrics, serverApiBatch, sleep, spawnServer, ROOT,
} from './lib/env.mjs';
import { closeAll, openConn, trackedId } from './lib/raw-client.mjs';
import { summarize, round } from './lib/stats.mjs';
import { writeReports } from './lib/report.mjs';
import { analyzeProfile } from './lib/profile.mjs';
import { startPgCounter } from './lib/pg-counter.mjs';
import { logger, numberList, parseArgs, runGuard, startWorker, waitDelivered } from './lib/fleet.mjs';
import { finalCounts, runPairStep } from './lib/pair-step.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- options
const argv = parseArgs();
const smoke = argv.smoke === 'true';
const quick = argv.quick === 'true' || smoke;
const list = numberList;
// --smoke (CI): a few seconds per workload, just enough to prove the harness and the server still work.
if (smoke) Object.assign(argv, { idle: argv.idle ?? '500', pairs: argv.pairs ?? '100', rates: argv.rates ?? '200', 'step-seconds': argv['step-seconds'] ?? '3', 'resume-events': argv['resume-events'] ?? '200', 'resume-trials': argv['resume-trials'] ?? '1' });
const opt = {
  only: new Set((argv.only ?? 'w1,w2,resume').split(',')),
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  redis: argv.redis === 'true' ? 'redis://127.0.0.1:6379' : argv.redis && argv.redis !== 'false' ? argv.redis : null,
  workers: Number(argv.workers ?? 2),
  idle: list(argv.idle ?? (quick ? '2000' : '5000,10000')),
  pairs: Number(argv.pairs ?? (quick ? 1000 : 2500)),
  rates: list(argv.rates ?? (quick ? '500,2000' : '500,1000,2000,3000,5000')),
  stepSeconds: Number(argv['step-seconds'] ?? (quick ? 8 : 15)),
  drainSeconds: Number(argv['drain-seconds'] ?? 15),
  inflightSeconds: Number(argv['inflight-seconds'] ?? 5),
  resumeEvents: Number(argv['resume-events'] ?? 1000),
  resumeTrials: Number(argv['resume-trials'] ?? (quick ? 3 : 5)),
  profile: argv.profile === 'true',
  /** `--profile-phase=w1|w2`: profile only that phase (through the inspector), not setup or the rest. */
  profilePhase: argv['profile-phase'] ?? null,
  /** `--save-profile=<file>`: also write the raw .cpuprofile of `--profile-phase` (open it in Chrome DevTools). */
  saveProfile: argv['save-profile'] ?? null,
  countQueries: argv['count-queries'] === 'true',
  pool: argv.pool ? Number(argv.pool) : undefined,
  text: 'Salam! Is the bicycle still for sale? / Velosiped hələ satılır?',
  out: argv.out ?? path.join(HERE, 'results', ...(smoke ? ['smoke'] : [])),
};
if (!opt.only.has('w2')) opt.rates = [];

const log = logger('bench');

// ---------------------------------------------------------------- cleanup bookkeeping (only what we started)
const guard = runGuard({ hardStopMs: 20 * 60_000, log });
const started = { server: null, workers: [], db: null, counter: null };
guard.started.closers.push(async () => {
  for (const w of started.workers) {
    try {
      if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
    } catch {}
  }
  if (started.server) await started.server.stop().catch(() => {});
  if (started.counter) await started.counter.close().catch(() => {});
  if (started.db) await started.db.drop().catch((e) => log('drop database failed:', e.message));
});
const cleanup = guard.cleanup;

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/server', 'packages/protocol'], { cwd: ROOT }).toString().trim();
    return { commit, dirtyServerFiles: dirty ? dirty.split('\n').map((l) => l.trim()) : [] };
  } catch {
    return { commit: 'unknown', dirtyServerFiles: [] };
  }
}

// ---------------------------------------------------------------- main
async function main() {
  const t0 = Date.now();
  const results = {
    startedAt: new Date().toISOString(),
    options: { ...opt, only: [...opt.only] },
    environment: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memTotal: os.totalmem(),
      ulimitN: Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()),
      git: gitInfo(),
      database: 'PostgreSQL (local, fresh database per run)',
      bus: opt.redis ? 'redis' : 'in-process',
      generator: `${opt.workers} forked worker processes on the same ${os.cpus().length}-core host as the server and PostgreSQL (not pinned); CPU of each is reported per step`,
    },
    w1: [],
    w2: [],
    resume: null,
    profile: null,
    queries: null,
  };
  delete results.options.text;

  log(`fresh database on ${opt.pg.replace(/:[^:@/]+@/, ':***@')}`);
  started.db = await freshDatabase(opt.pg);
  let dbUrl = started.db.url;
  if (opt.countQueries) {
    started.counter = await startPgCounter(new URL(opt.pg).port || 5432);
    const u = new URL(dbUrl);
    u.port = String(started.counter.port);
    dbUrl = u.toString();
    log(`counting PostgreSQL round trips through a proxy on port ${started.counter.port}`);
  }
  const profDir = path.join(opt.out, 'profile');
  if (opt.profile) {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  const server = await spawnServer({
    databaseUrl: dbUrl,
    redisUrl: opt.redis,
    poolSize: opt.pool,
    nodeArgs: opt.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500'] : [],
  });
  started.server = server;
  results.environment.serverPid = server.pid;
  log(`server pid ${server.pid} at ${server.url} (NODE_ENV=production, LOG_LEVEL=warn${opt.profile ? ', --cpu-prof' : ''})`);

  // Users: pair users first (0 .. 2P-1), then idle-only users, then two resume users.
  const pairUsers = opt.only.has('w2') ? opt.pairs * 2 : 0;
  const idleMax = opt.only.has('w1') ? Math.max(0, ...opt.idle) : 0;
  const nUsers = Math.max(pairUsers, idleMax);
  const uid = (i) => `bu${i}`;
  const setupStart = Date.now();
  await serverApiBatch(server, 'server.upsertUser', Array.from({ length: nUsers }, (_, i) => ({ id: uid(i), name: `Bench ${i}` })));
  await serverApiBatch(server, 'server.upsertUser', [{ id: 'resume-a', name: 'Resume A' }, { id: 'resume-b', name: 'Resume B' }]);
  const convs = await serverApiBatch(
    server,
    'server.openConversation',
    Array.from({ length: pairUsers / 2 }, (_, p) => ({ userIds: [uid(2 * p), uid(2 * p + 1)] })),
  );
  log(`setup: ${nUsers + 2} users, ${convs.length} conversations via the server API in ${((Date.now() - setupStart) / 1000).toFixed(1)} s`);

  const workers = Array.from({ length: opt.workers }, (_, i) => startWorker(i));
  started.workers = workers;
  // Pair p (users 2p, 2p+1) lives in worker p % W; other users round-robin.
  const workerOf = (i) => (i < pairUsers ? Math.floor(i / 2) % opt.workers : i % opt.workers);
  const connectUsers = async (from, to) => {
    const byW = workers.map(() => []);
    for (let i = from; i < to; i++) byW[workerOf(i)].push({ idx: i, token: server.token(uid(i)) });
    const res = await Promise.all(workers.map((w, k) => w.call('connect', { wsUrl: server.wsUrl, users: byW[k], concurrency: 64 }, 600_000)));
    return res;
  };

  let connected = 0;
  // ------------------------------------------------------------ W1 idle connections
  if (opt.only.has('w1') || opt.only.has('w2')) {
    await sleep(1000);
    await server.collectGarbage();
    await sleep(500);
    const base = procSample(server.pid);
    const baseMetrics = await scrapeMetrics(server);
    log(`baseline server RSS ${(base.rss / 2 ** 20).toFixed(1)} MiB`);
    const targets = opt.only.has('w1') ? [...opt.idle].sort((a, b) => a - b) : [];
    if (pairUsers > 0 && !targets.includes(pairUsers)) targets.push(pairUsers);
    targets.sort((a, b) => a - b);
    let prev = { n: 0, rss: base.rss, heap: baseMetrics.heapUsed };
    const w1Profile = opt.profilePhase === 'w1' ? await server.startCpuProfile() : null;
    for (const n of targets) {
      if (n + 200 > results.environment.ulimitN) {
        log(`W1 ${n}: skipped, ulimit -n is ${results.environment.ulimitN} (the server needs one descriptor per socket)`);
        results.w1.push({ connections: n, skipped: `ulimit -n ${results.environment.ulimitN}` });
        continue;
      }
      const quiet = await waitForQuiet(ourPids(server, workers), { log });
      const m0 = machineCpu();
      const pg0 = postgresCpu();
      const cpu0 = procSample(server.pid).cpu;
      const tc = performance.now();
      const res = await connectUsers(connected, n);
      const ms = performance.now() - tc;
      const ok = res.reduce((a, r) => a + r.connected, 0);
      const failed = res.reduce((a, r) => a + r.failed, 0);
      connected = n;
      await sleep(3000); // settle: allocation after the burst, presence fan-out
      const gcOk = await server.collectGarbage();
      await sleep(500);
      const s = procSample(server.pid);
      const m = await scrapeMetrics(server);
      const wstats = await Promise.all(workers.map((w) => w.call('stats')));
      const connTimes = summarize(res.flatMap((r) => r.times));
      const row = {
        connections: n,
        measuredAfterFullGc: gcOk,
        newConnections: ok,
        failed,
        failureSamples: res.flatMap((r) => r.failures).slice(0, 3),
        serverReportsConnections: m.connections,
        connectSeconds: round(ms / 1000, 2),
        connectRate: Math.round(ok / (ms / 1000)),
        connectLatencyMs: { p50: round(connTimes.p50, 1), p99: round(connTimes.p99, 1), max: round(connTimes.max, 1) },
        serverCpuSecondsDuringConnect: round(s.cpu - cpu0, 2),
        foreignCpuPctDuringConnect: round(((machineCpu().busy - m0.busy - (s.cpu - cpu0) - (postgresCpu() - pg0)) / ((ms + 4000) / 1000)) * 100, 0),
        waitedForQuietMs: quiet.waitedMs,
        serverRss: s.rss,
        rssDelta: s.rss - base.rss,
        rssPerConnection: Math.round((s.rss - base.rss) / n),
        rssPerConnectionMarginal: prev.n ? Math.round((s.rss - prev.rss) / (n - prev.n)) : null,
        heapUsed: m.heapUsed,
        heapPerConnection: m.heapUsed && baseMetrics.heapUsed ? Math.round((m.heapUsed - baseMetrics.heapUsed) / n) : null,
        generatorRss: wstats.reduce((a, w) => a + w.rss, 0),
      };
      results.w1.push(row);
      prev = { n, rss: s.rss, heap: m.heapUsed };
      log(
        `W1 ${n} idle: ${ok} new ok, ${failed} failed, ${row.connectRate}/s (p99 ${row.connectLatencyMs.p99} ms), RSS +${((s.rss - base.rss) / 2 ** 20).toFixed(1)} MiB = ${(row.rssPerConnection / 1024).toFixed(1)} KiB/conn`,
      );
    }
    if (w1Profile) results.profile = { ...analyzeProfile(await w1Profile.stop(), ROOT), scope: 'W1 connects only' };
    // Keep only the pair users for W2.
    if (connected > pairUsers) {
      const byW = workers.map(() => []);
      for (let i = pairUsers; i < connected; i++) byW[workerOf(i)].push(i);
      await Promise.all(workers.map((w, k) => w.call('close', { idxs: byW[k] })));
      log(`closed ${connected - pairUsers} idle-only connections`);
      connected = pairUsers;
      await sleep(3000);
    }
  }

  // ------------------------------------------------------------ W2 open-loop 1:1 messages
  if (opt.only.has('w2') && opt.rates.length) {
    const byW = workers.map(() => []);
    convs.forEach((c, p) => byW[p % opt.workers].push({ a: 2 * p, b: 2 * p + 1, conversationId: c.id }));
    await Promise.all(workers.map((w, k) => w.call('pairs', { pairs: byW[k] })));
    // Warm-up: a short low-rate step so JIT and pool connections are warm (not reported).
    await runPairStep({ ...stepEnv(server, workers), step: 0, rate: Math.min(200, opt.rates[0]), seconds: 3, warmup: true });
    started.counter?.mark();
    const w2Profile = opt.profilePhase === 'w2' ? await server.startCpuProfile() : null;
    let stepNo = 1;
    for (const rate of opt.rates) {
      const r = await runPairStep({ ...stepEnv(server, workers), step: stepNo++, rate, seconds: opt.stepSeconds });
      r.connectedClients = connected;
      results.w2.push(r);
      // Let the server work off any backlog before the next step (bounded), so steps don't overlap.
      const backlog = await waitDelivered(workers, { maxMs: 60_000 });
      r.backlogRecoverySeconds = round(backlog.seconds, 1);
      if (backlog.left) log(`  ${backlog.left} messages still undelivered 60 s after the step`);
      await sleep(2000);
    }
    if (w2Profile) {
      const prof = await w2Profile.stop();
      if (opt.saveProfile) writeFileSync(opt.saveProfile, JSON.stringify(prof));
      results.profile = { ...analyzeProfile(prof, ROOT), scope: 'W2 steps only' };
    }
    await finalCounts(workers, results.w2);
  }

  // ------------------------------------------------------------ resume after 1,000 missed events
  if (started.counter) results.queries = started.counter.summary(results.w2.reduce((a, r) => a + r.sent, 0));
  if (opt.only.has('resume')) {
    await waitForQuiet(ourPids(server, workers), { log });
    results.resume = await runResume(server);
  }

  // ------------------------------------------------------------ wrap up
  await Promise.all(workers.map((w) => w.call('exit', {}, 30_000).catch(() => {})));
  await server.stop();
  started.server = null;
  if (opt.profile) {
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length) results.profile = analyzeProfile(JSON.parse(readFileSync(path.join(profDir, files[0]), 'utf8')), ROOT);
  }
  await cleanup();
  results.durationSeconds = Math.round((Date.now() - t0) / 1000);
  const written = writeReports(results, opt.out);
  log(`wrote ${written.join(', ')}`);
  const broken = results.w2.some((r) => r.lost || r.dup || r.ackErrors) || (results.resume && !results.resume.allReceived);
  if (broken) {
    log('FAILED: a message was lost or duplicated, a send failed, or a resume missed events');
    process.exitCode = 1;
  }
}

function stepEnv(server, workers) {
  return { servers: [server], workers, pg: opt.pg, dbName: started.db.name, text: opt.text, drainSeconds: opt.drainSeconds, inflightSeconds: opt.inflightSeconds, log };
}

function ourPids(server, workers) {
  return [server.pid, process.pid, ...workers.map((w) => w.proc.pid)];
}

/** Offline client, 1,000 events accumulate, reconnect with the cursor: time to the 1,000th event. */
async function runResume(server) {
  const N = opt.resumeEvents;
  const tokenA = server.token('resume-a');
  const tokenB = server.token('resume-b');
  const [conv] = await serverApiBatch(server, 'server.openConversation', [{ userIds: ['resume-a', 'resume-b'] }]);
  let ackWaiters = new Map();
  const b = await openConn(server.wsUrl, tokenB, {
    onFrame: (s) => {
      const m = /^\{"id":(\d+),/.exec(s);
      if (m && Number(m[1]) >= 100) ackWaiters.get(Number(m[1]))?.(s);
    },
  });
  if (!b.ok) throw new Error(`resume sender could not connect: ${b.conn.error}`);
  const trials = [];
  let nextId = 100;
  for (let t = 0; t < opt.resumeTrials; t++) {
    // 1. A is online long enough to learn its cursor, then goes offline.
    let cursor = null;
    const a1 = await openConn(server.wsUrl, tokenA, { onFrame: (s) => (cursor = trackedId(s) ?? cursor) });
    if (!a1.ok) throw new Error(`resume client could not connect: ${a1.conn.error}`);
    await closeAll([a1.conn]);
    // 2. B sends N messages while A is away (pipelined 100 at a time).
    for (let k = 0; k < N; k += 100) {
      const batch = [];
      for (let j = k; j < Math.min(N, k + 100); j++) {
        const id = nextId++;
        batch.push(new Promise((resolve) => ackWaiters.set(id, resolve)));
        b.conn.ws.send(JSON.stringify({ id, method: 'mutation', params: { path: 'chat.send', input: { conversationId: conv.id, clientId: `resume-${t}-${j}`, text: `missed ${j}` } } }));
      }
      const acks = await Promise.all(batch);
      if (acks.some((s) => s.includes('"error"'))) throw new Error(`resume send failed: ${acks.find((s) => s.includes('"error"'))}`);
    }
    await sleep(300);
    // 3. A reconnects with its cursor; clock starts before the socket is created.
    let got = 0;
    let tNth = 0;
    let firstAt = 0;
    let seqs = [];
    const t0 = performance.now();
    const a2 = await openConn(server.wsUrl, tokenA, {
      lastEventId: cursor,
      onFrame: (s) => {
        if (!s.includes('"chat.message.created"')) return;
        const ev = JSON.parse(s).result.data.data;
        if (ev.data.message.senderId !== 'resume-b' || !ev.data.message.clientId.startsWith(`resume-${t}-`)) return;
        got++;
        seqs.push(ev.data.message.seq);
        if (got === 1) firstAt = performance.now();
        if (got === N) tNth = performance.now();
      },
    });
    const readyMs = performance.now() - t0;
    const inOrder = seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1);
    trials.push({
      trial: t,
      cursor,
      received: got,
      inOrder,
      openMs: round(a2.conn.openAt - t0, 2),
      firstEventMs: round(firstAt - t0, 1),
      nthEventMs: tNth ? round(tNth - t0, 1) : null,
      readyMs: round(readyMs, 1),
    });
    log(`resume trial ${t}: ${got}/${N} events, in order ${inOrder}, 1st at ${round(firstAt - t0, 1)} ms, ${N}th at ${tNth ? round(tNth - t0, 1) : '—'} ms, sync.ready at ${round(readyMs, 1)} ms`);
    await closeAll([a2.conn]);
  }
  await closeAll([b.conn]);
  ackWaiters = null;
  const ms = summarize(trials.map((t) => t.nthEventMs ?? Infinity));
  return { events: N, trials, medianMs: round(ms.p50, 1), maxMs: round(ms.max, 1), allReceived: trials.every((t) => t.received === N && t.inOrder) };
}

main()
  .catch(async (err) => {
    console.error(err);
    if (started.server) console.error('server output tail:\n' + started.server.output.slice(-20).join(''));
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => guard.done());
