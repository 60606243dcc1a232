#!/usr/bin/env node
/**
 * W5 — restart under load. P pairs exchange messages open loop; midway the server is killed
 * with SIGKILL (no drain) and started again on the same port and database. Clients reconnect
 * like the SDK and re-send what was not acknowledged (same clientId, G2). Targets: 0 messages
 * lost (acknowledged or not: every message a client wanted to send arrives exactly once) and 95%
 * of clients back within 5 s of the kill.
 *
 *   node bench/w5-restart.mjs [--pairs=2500 --rate=300 --seconds=20 --kill-at=8 --smoke]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, sleep, spawnServer } from './lib/env.mjs';
import { epochNow, logger, parseArgs, runGuard, waitDelivered } from './lib/fleet.mjs';
import { finalCounts, runPairStep } from './lib/pair-step.mjs';
import { setupPairs } from './lib/pairs-setup.mjs';
import { fmtMs, round, summarize, fmtDuration } from './lib/stats.mjs';
import { environment, table, verdict, writeWorkload } from './lib/workload-report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = parseArgs();
const smoke = argv.smoke === 'true';
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  pairs: Number(argv.pairs ?? (smoke ? 100 : 2500)),
  rate: Number(argv.rate ?? (smoke ? 100 : 300)),
  seconds: Number(argv.seconds ?? (smoke ? 8 : 20)),
  killAt: Number(argv['kill-at'] ?? (smoke ? 3 : 8)),
  out: argv.out ?? path.join(HERE, 'results'),
};
const log = logger('w5');
const guard = runGuard({ hardStopMs: 8 * 60_000, log });

async function main() {
  const db = await freshDatabase(opt.pg);
  guard.started.dbs.push(db);
  let server = await spawnServer({ databaseUrl: db.url });
  guard.started.servers.push(server);
  const servers = [server];
  const { workers, connected } = await setupPairs({ servers, pairs: opt.pairs, started: guard.started, log });
  await Promise.all(workers.map((w) => w.call('configure', { resilient: true, reconnectForMs: (opt.seconds + 120) * 1000 })));
  let kill = null;
  const row = await runPairStep({
    // The step's CPU/RSS sampling follows `servers`, which is swapped to the new process after the restart.
    servers, workers, pg: opt.pg, dbName: db.name, text: 'restart / yenidən başlama', drainSeconds: 45, inflightSeconds: 3600, log, label: 'W5',
    step: 1, rate: opt.rate, seconds: opt.seconds,
    during: async ({ startAt }) => {
      await sleep(startAt - Date.now() + opt.killAt * 1000);
      const killAt = epochNow();
      await server.kill();
      log(`killed server pid ${server.pid} (SIGKILL) at t+${opt.killAt}s; restarting on port ${server.port}`);
      const next = await spawnServer({ databaseUrl: db.url, port: server.port, secret: server.secret, apiKey: server.apiKey });
      guard.started.servers.push(next);
      servers[0] = next;
      server = next;
      const readyMs = epochNow() - killAt;
      log(`new server pid ${next.pid} ready ${Math.round(readyMs)} ms after the kill`);
      kill = { killAt, serverReadyMs: round(readyMs, 0) };
      return kill;
    },
  });
  const backlog = await waitDelivered(workers, { maxMs: 60_000 });
  await finalCounts(workers, [row]);
  const rec = (await Promise.all(workers.map((w) => w.call('reconnects', { since: kill.killAt - 1000 })))).flatMap((r) => r.list);
  const back = rec.map((r) => r.readyAt - kill.killAt).sort((a, b) => a - b);
  const t95 = back.length >= Math.ceil(connected * 0.95) ? back[Math.ceil(connected * 0.95) - 1] : null;
  const replay = summarize(rec.map((r) => r.replayMs));
  const wanted = row.sent + row.unsent;
  const noLoss = row.lost === 0 && row.unsent === 0 && row.dup === 0;
  const res = {
    workload: 'W5 restart under load',
    startedAt: new Date().toISOString(),
    options: opt,
    environment: environment({ database: 'PostgreSQL (local, fresh database)', bus: 'in-process' }),
    connected,
    kill,
    reconnected: rec.length,
    reconnected95Ms: t95 === null ? null : round(t95, 0),
    reconnectedAllMs: back.length ? round(back[back.length - 1], 0) : null,
    replayMs: Object.fromEntries(Object.entries(replay).map(([k, v]) => [k, round(v, 1)])),
    backlogLeft: backlog.left,
    step: row,
    targets: { zeroLost: noLoss, back95Within5s: t95 !== null && t95 <= 5000 },
  };
  const md = [
    `# W5 — restart under load (${res.startedAt})`,
    `${opt.pairs} pairs (${connected} clients), ${opt.rate} msg/s open loop for ${opt.seconds} s; at t+${opt.killAt} s the server gets SIGKILL and a new process starts on the same port and database (ready ${kill.serverReadyMs} ms after the kill). Clients reconnect like the SDK and re-send unacknowledged messages with the same clientId.`,
    table(['target', 'verdict', 'measured'], [
      ['0 messages lost', verdict(noLoss), `${row.delivered}/${wanted} delivered exactly once; acknowledged-but-lost ${row.ackedButLost}, never delivered ${row.lost}, never sent ${row.unsent}, dup ${row.dup}, re-sent after the restart ${row.resent}`],
      ['95% reconnected within 5 s', verdict(res.targets.back95Within5s), `95% at ${fmtDuration(t95)}, all ${rec.length}/${connected} at ${fmtDuration(res.reconnectedAllMs)} after the kill (server ready at ${kill.serverReadyMs} ms)`],
    ]),
    table(['msg p50 ms', 'msg p99 ms', 'msg max ms', 'replay p50 ms', 'replay p99 ms'], [[fmtMs(row.latencyMs.p50), fmtMs(row.latencyMs.p99), fmtMs(row.latencyMs.max), fmtMs(replay.p50), fmtMs(replay.p99)]]),
  ];
  log(`W5: delivered ${row.delivered}/${wanted}, lost ${row.lost} (acked ${row.ackedButLost}), dup ${row.dup}; 95% back ${t95 === null ? 'never' : `at ${Math.round(t95)} ms`}`);
  log(`wrote ${writeWorkload(opt.out, smoke ? 'w5-smoke' : 'w5', res, md).join(', ')}`);
  if (!noLoss) process.exitCode = 1;
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
