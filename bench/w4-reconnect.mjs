#!/usr/bin/env node
/**
 * W4 — reconnect storm. P pairs exchange messages open loop while, every few seconds, a share of
 * all sockets is dropped abruptly (like a phone losing its network). Clients behave like the SDK:
 * reconnect with jittered backoff and their last cursor, and re-send unacknowledged messages with
 * the same clientId (G2). Target: 100% delivered, no duplicates, replay (new socket → sync.ready,
 * i.e. every missed event received) p99 ≤ 2 s.
 *
 *   node bench/w4-reconnect.mjs [--pairs=1000 --rate=300 --seconds=30 --every-ms=3000 --fraction=0.1 --smoke]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, spawnServer } from './lib/env.mjs';
import { epochNow, logger, parseArgs, runGuard, waitDelivered } from './lib/fleet.mjs';
import { finalCounts, runPairStep } from './lib/pair-step.mjs';
import { setupPairs } from './lib/pairs-setup.mjs';
import { round, summarize, fmtMs, fmtDuration } from './lib/stats.mjs';
import { environment, table, verdict, writeWorkload } from './lib/workload-report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = parseArgs();
const smoke = argv.smoke === 'true';
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  pairs: Number(argv.pairs ?? (smoke ? 100 : 1000)),
  rate: Number(argv.rate ?? (smoke ? 100 : 300)),
  seconds: Number(argv.seconds ?? (smoke ? 6 : 30)),
  everyMs: Number(argv['every-ms'] ?? (smoke ? 1500 : 3000)),
  fraction: Number(argv.fraction ?? 0.1),
  out: argv.out ?? path.join(HERE, 'results'),
};
const log = logger('w4');
const guard = runGuard({ hardStopMs: 8 * 60_000, log });

async function main() {
  const db = await freshDatabase(opt.pg);
  guard.started.dbs.push(db);
  const server = await spawnServer({ databaseUrl: db.url });
  guard.started.servers.push(server);
  const { workers, connected } = await setupPairs({ servers: [server], pairs: opt.pairs, started: guard.started, log });
  await Promise.all(workers.map((w) => w.call('configure', { resilient: true, reconnectForMs: (opt.seconds + 90) * 1000 })));
  const since = epochNow();
  const row = await runPairStep({
    servers: [server], workers, pg: opt.pg, dbName: db.name, text: 'reconnect storm / bağlantı fırtınası', drainSeconds: 30, inflightSeconds: 3600, log, label: 'W4',
    step: 1, rate: opt.rate, seconds: opt.seconds,
    during: async () => {
      const r = await Promise.all(workers.map((w) => w.call('storm', { fraction: opt.fraction, everyMs: opt.everyMs, durationMs: opt.seconds * 1000 }, (opt.seconds + 30) * 1000)));
      return { dropped: r.reduce((a, x) => a + x.dropped, 0) };
    },
  });
  const backlog = await waitDelivered(workers, { maxMs: 60_000 });
  await finalCounts(workers, [row]);
  const rec = (await Promise.all(workers.map((w) => w.call('reconnects', { since })))).flatMap((r) => r.list);
  const replay = summarize(rec.map((r) => r.replayMs));
  const outage = summarize(rec.map((r) => r.readyAt - r.downAt));
  const wanted = row.sent + row.unsent;
  const ok = row.lost === 0 && row.unsent === 0 && row.dup === 0 && row.ackErrors === 0;
  const res = {
    workload: 'W4 reconnect storm',
    startedAt: new Date(since).toISOString(),
    options: opt,
    environment: environment({ database: 'PostgreSQL (local, fresh database)', bus: 'in-process' }),
    connected,
    dropped: row.during?.dropped,
    reconnects: rec.length,
    replayMs: Object.fromEntries(Object.entries(replay).map(([k, v]) => [k, round(v, 1)])),
    outageMs: Object.fromEntries(Object.entries(outage).map(([k, v]) => [k, round(v, 1)])),
    backlogLeft: backlog.left,
    step: row,
    targets: { allDeliveredNoDup: ok, replayP99Under2s: replay.p99 !== null && replay.p99 <= 2000 },
  };
  const md = [
    `# W4 — reconnect storm (${res.startedAt})`,
    `${opt.pairs} pairs (${connected} clients), ${opt.rate} msg/s open loop for ${opt.seconds} s; every ${opt.everyMs} ms ${Math.round(opt.fraction * 100)}% of the open sockets are terminated. Clients reconnect like the SDK (jittered backoff, last cursor, re-send unacknowledged messages with the same clientId).`,
    table(['target', 'verdict', 'measured'], [
      ['100% delivered, no duplicates', verdict(ok), `${row.delivered}/${wanted} delivered, lost ${row.lost}, never sent ${row.unsent}, dup ${row.dup}, errors ${row.ackErrors}, re-sent ${row.resent}`],
      ['replay p99 ≤ 2 s', verdict(res.targets.replayP99Under2s), `p50 ${fmtDuration(replay.p50)}, p99 ${fmtDuration(replay.p99)}, max ${fmtDuration(replay.max)} over ${rec.length} reconnects`],
    ]),
    table(['dropped sockets', 'reconnects', 'outage p50 ms', 'outage p99 ms', 'msg p50 ms', 'msg p99 ms', 'msg max ms', 'srv CPU%', 'pg CPU%'], [
      [res.dropped, rec.length, fmtMs(outage.p50), fmtMs(outage.p99), fmtMs(row.latencyMs.p50), fmtMs(row.latencyMs.p99), fmtMs(row.latencyMs.max), row.serverCpuPct, row.postgresCpuPct],
    ]),
    'Replay = from creating the new socket to `sync.ready` (every missed event received). Outage = from the drop to ready again (includes backoff). Message latency is from the intended send time, so it includes the time a message waited in an offline sender\'s outbox.',
  ];
  log(`W4: delivered ${row.delivered}/${wanted}, lost ${row.lost}, dup ${row.dup}, ${rec.length} reconnects, replay p99 ${fmtDuration(replay.p99)}`);
  log(`wrote ${writeWorkload(opt.out, smoke ? 'w4-smoke' : 'w4', res, md).join(', ')}`);
  if (!ok) process.exitCode = 1;
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
