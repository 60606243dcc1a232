#!/usr/bin/env node
/**
 * W3 — group fan-out. 1,000 connected members form rooms of 10, 100 or 1,000 (100, 10 or 1 rooms);
 * one member of each room sends open loop. Every member's socket checks off every message (any
 * receiver, in any worker process, computes latency from the intended send time carried in the
 * clientId). Per room size, offered deliveries/s rise until a step misses; the target is the
 * highest deliveries/s with every message delivered and p99 ≤ 100 ms.
 *
 *   node bench/w3-fanout.mjs [--members=1000 --sizes=10,100,1000 --step-seconds=8 --smoke]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, machineCpu, postgresCpu, procSample, serverApiBatch, sleep, spawnServer, waitForQuiet } from './lib/env.mjs';
import { epochNow, logger, numberList, parseArgs, runGuard, startWorker } from './lib/fleet.mjs';
import { merge, newHistogram, percentiles } from './lib/histogram.mjs';
import { fmtMs, round, fmtDuration } from './lib/stats.mjs';
import { environment, table, verdict, writeWorkload } from './lib/workload-report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = parseArgs();
const smoke = argv.smoke === 'true';
/** Offered deliveries/s per room size (messages/s = deliveries / (size - 1)). */
const LADDER = smoke ? { 10: [500], 100: [2000], 1000: [5000] } : { 10: [2000, 5000, 10000, 20000], 100: [5000, 10000, 25000, 50000], 1000: [10000, 25000, 50000, 100000, 150000] };
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  members: Number(argv.members ?? (smoke ? 200 : 1000)),
  sizes: numberList(argv.sizes ?? (smoke ? '10,100' : '10,100,1000')),
  stepSeconds: Number(argv['step-seconds'] ?? (smoke ? 3 : 8)),
  drainSeconds: Number(argv['drain-seconds'] ?? 20),
  workers: Number(argv.workers ?? 2),
  out: argv.out ?? path.join(HERE, 'results'),
};
const log = logger('w3');
const guard = runGuard({ hardStopMs: 15 * 60_000, log });

async function createGroup(server, ownerIdx, memberIdxs, uid) {
  const r = await fetch(`${server.url}/trpc/chat.createGroup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token(uid(ownerIdx))}` },
    body: JSON.stringify({ title: `Fan-out ${ownerIdx}`, memberIds: memberIdxs.map(uid) }),
  });
  const j = await r.json();
  if (!j.result) throw new Error(`createGroup: ${JSON.stringify(j).slice(0, 300)}`);
  return j.result.data.id;
}

async function main() {
  const startedAt = new Date().toISOString();
  const db = await freshDatabase(opt.pg);
  guard.started.dbs.push(db);
  const server = await spawnServer({ databaseUrl: db.url });
  guard.started.servers.push(server);
  const uid = (i) => `fan${i}`;
  await serverApiBatch(server, 'server.upsertUser', Array.from({ length: opt.members }, (_, i) => ({ id: uid(i), name: `Fan ${i}` })));
  const workers = Array.from({ length: opt.workers }, (_, i) => startWorker(i));
  guard.started.workers.push(...workers);
  const workerOf = (i) => i % opt.workers;
  const byW = workers.map(() => []);
  for (let i = 0; i < opt.members; i++) byW[workerOf(i)].push({ idx: i, token: server.token(uid(i)) });
  const conn = await Promise.all(workers.map((w, k) => w.call('connect', { wsUrl: server.wsUrl, users: byW[k], concurrency: 64 }, 600_000)));
  log(`${conn.reduce((a, r) => a + r.connected, 0)}/${opt.members} members connected`);

  const results = [];
  let step = 1;
  for (const size of opt.sizes.filter((s) => s <= opt.members)) {
    const nRooms = Math.floor(opt.members / size);
    const rooms = [];
    for (let r = 0; r < nRooms; r++) {
      const members = Array.from({ length: size }, (_, k) => r * size + k);
      rooms.push({ senderIdx: members[0], conversationId: await createGroup(server, members[0], members.slice(1), uid) });
    }
    log(`size ${size}: ${nRooms} room(s) created`);
    await sleep(1000);
    for (const offered of LADDER[size] ?? [size * 20]) {
      const msgRate = offered / (size - 1);
      await waitForQuiet([process.pid, server.pid, ...workers.map((w) => w.proc.pid)], { log });
      await Promise.all(workers.map((w) => w.call('groupBegin', { step })));
      const p0 = procSample(server.pid);
      const pg0 = postgresCpu();
      const m0 = machineCpu();
      const startAt = Date.now() + 300;
      const t0 = epochNow();
      const sends = await Promise.all(
        workers.map((w, k) => {
          const mine = rooms.filter((r) => workerOf(r.senderIdx) === k);
          if (!mine.length) return { sent: 0, failed: 0 };
          const share = (msgRate * mine.length) / rooms.length;
          return w.call('groupStep', { step, rooms: mine, rate: share, durationMs: opt.stepSeconds * 1000, startAt }, (opt.stepSeconds + 60) * 1000);
        }),
      );
      const sent = sends.reduce((a, s) => a + s.sent, 0);
      const expected = sent * (size - 1);
      const deadline = Date.now() + opt.drainSeconds * 1000;
      let got = [];
      for (;;) {
        got = await Promise.all(workers.map((w) => w.call('groupResult', { step })));
        if (got.reduce((a, g) => a + g.deliveries, 0) >= expected || Date.now() > deadline) break;
        await sleep(250);
      }
      const wall = (epochNow() - t0) / 1000;
      const p1 = procSample(server.pid);
      const hist = got.reduce((h, g) => merge(h, g.hist), newHistogram());
      const lat = percentiles(hist);
      const deliveries = got.reduce((a, g) => a + g.deliveries, 0);
      const dup = got.reduce((a, g) => a + g.dup, 0);
      const lastAt = (lat.max ?? 0) / 1000 + opt.stepSeconds;
      const row = {
        step,
        roomSize: size,
        rooms: nRooms,
        offeredDeliveriesPerSec: offered,
        messagesPerSec: round(msgRate, 1),
        sent,
        sendFailed: sends.reduce((a, s) => a + s.failed, 0),
        expectedDeliveries: expected,
        deliveries,
        dup,
        achievedDeliveriesPerSec: Math.round(deliveries / Math.min(wall, lastAt)),
        latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 2)])),
        serverCpuPct: round(((p1.cpu - p0.cpu) / wall) * 100, 0),
        postgresCpuPct: round(((postgresCpu() - pg0) / wall) * 100, 0),
        machineCpuPct: round(((machineCpu().busy - m0.busy) / wall) * 100, 0),
        serverRss: p1.rss,
      };
      row.ok = deliveries === expected && dup === 0 && row.sendFailed === 0 && lat.p99 !== null && lat.p99 <= 100;
      results.push(row);
      log(`size ${size} @ ${offered} deliveries/s (${row.messagesPerSec} msg/s): ${deliveries}/${expected} delivered, dup ${dup}, achieved ${row.achievedDeliveriesPerSec}/s, p50 ${fmtMs(lat.p50)} p99 ${fmtMs(lat.p99)} max ${fmtDuration(lat.max)}, server CPU ${row.serverCpuPct}%, pg ${row.postgresCpuPct}%`);
      step++;
      // Wait out stragglers (bounded) so the next step starts on an idle server.
      await sleep(2000);
      if (!row.ok) break; // past this size's capacity: higher rates only queue more
    }
  }
  const best = Math.max(0, ...results.filter((r) => r.ok).map((r) => r.achievedDeliveriesPerSec));
  const res = {
    workload: 'W3 group fan-out',
    startedAt,
    options: opt,
    environment: environment({ database: 'PostgreSQL (local, fresh database)', bus: 'in-process' }),
    steps: results,
    bestDeliveriesPerSecAtP99Under100ms: best,
    targets: { deliveries150kPerSec: best >= 150_000, noDup: results.every((r) => r.dup === 0) },
  };
  const md = [
    `# W3 — group fan-out (${startedAt})`,
    `${opt.members} connected members in rooms of ${opt.sizes.join(' / ')}; one sender per room, open loop, ${opt.stepSeconds} s per step; latency from the intended send time to each member's \`chat.message.created\` (the sender's own copy is not counted). Each member has its own durable event log, so every delivery is also a stored row.`,
    table(['target', 'verdict', 'measured'], [
      ['≥ 150,000 deliveries/s at p99 ≤ 100 ms', verdict(res.targets.deliveries150kPerSec), `best ${best.toLocaleString('en')} deliveries/s with every message delivered and p99 ≤ 100 ms`],
      ['no duplicates', verdict(res.targets.noDup), `dup ${results.reduce((a, r) => a + r.dup, 0)}`],
    ]),
    table(['room size', 'rooms', 'offered deliveries/s', 'msg/s', 'delivered', 'dup', 'achieved deliveries/s', 'p50 ms', 'p99 ms', 'max ms', 'srv CPU%', 'pg CPU%', 'ok'], results.map((r) => [r.roomSize, r.rooms, r.offeredDeliveriesPerSec, r.messagesPerSec, `${r.deliveries}/${r.expectedDeliveries}`, r.dup, r.achievedDeliveriesPerSec, fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p99), fmtMs(r.latencyMs.max), r.serverCpuPct, r.postgresCpuPct, r.ok ? 'yes' : 'no'])),
  ];
  log(`wrote ${writeWorkload(opt.out, smoke ? 'w3-smoke' : 'w3', res, md).join(', ')}`);
  if (!res.targets.noDup) process.exitCode = 1;
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await guard.cleanup();
    guard.done();
  });
