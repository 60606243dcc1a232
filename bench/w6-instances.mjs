#!/usr/bin/env node
/**
 * W6 — two instances behind Redis. The same open-loop 1:1 steps run twice against a fresh
 * database each: (a) one instance with the Redis bus, both ends of every pair on it; (b) two
 * instances sharing PostgreSQL and Redis, the two ends of every pair on different instances, so
 * every message, ack and receipt crosses Redis. The difference is the cross-instance overhead.
 *
 *   node bench/w6-instances.mjs [--pairs=1000 --rates=250,500,1000 --step-seconds=10 --redis=redis://127.0.0.1:6379 --smoke]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, spawnServer } from './lib/env.mjs';
import { logger, numberList, parseArgs, runGuard, waitDelivered } from './lib/fleet.mjs';
import { finalCounts, runPairStep } from './lib/pair-step.mjs';
import { setupPairs } from './lib/pairs-setup.mjs';
import { fmtBytes, fmtMs } from './lib/stats.mjs';
import { environment, table, verdict, writeWorkload } from './lib/workload-report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = parseArgs();
const smoke = argv.smoke === 'true';
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  redis: argv.redis ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  pairs: Number(argv.pairs ?? (smoke ? 100 : 1000)),
  rates: numberList(argv.rates ?? (smoke ? '100' : '250,500,1000')),
  stepSeconds: Number(argv['step-seconds'] ?? (smoke ? 4 : 10)),
  out: argv.out ?? path.join(HERE, 'results'),
};
const log = logger('w6');
const guard = runGuard({ hardStopMs: 12 * 60_000, log });

async function phase(instances) {
  const db = await freshDatabase(opt.pg);
  guard.started.dbs.push(db);
  // Each run gets its own Redis key prefix, so nothing else sharing this Redis is touched.
  const env = { REDIS_KEY_PREFIX: `sohbet-bench-${randomBytes(3).toString('hex')}:` };
  const first = await spawnServer({ databaseUrl: db.url, redisUrl: opt.redis, env });
  guard.started.servers.push(first);
  const servers = [first];
  for (let i = 1; i < instances; i++) {
    const s = await spawnServer({ databaseUrl: db.url, redisUrl: opt.redis, secret: first.secret, apiKey: first.apiKey, env });
    guard.started.servers.push(s);
    servers.push(s);
  }
  const { workers } = await setupPairs({ servers, pairs: opt.pairs, started: guard.started, log, prefix: `i${instances}u` });
  const stepEnv = { servers, workers, pg: opt.pg, dbName: db.name, text: 'two instances / iki instans', drainSeconds: 15, inflightSeconds: 5, log, label: `W6 ${instances}x` };
  await runPairStep({ ...stepEnv, step: 0, rate: Math.min(100, opt.rates[0]), seconds: 3, warmup: true });
  const rows = [];
  let step = 1;
  for (const rate of opt.rates) {
    rows.push(await runPairStep({ ...stepEnv, step: step++, rate, seconds: opt.stepSeconds }));
    await waitDelivered(workers, { maxMs: 60_000 });
  }
  await finalCounts(workers, rows);
  await Promise.all(workers.map((w) => w.call('exit', {}, 30_000).catch(() => {})));
  for (const s of servers) await s.stop();
  await db.drop();
  guard.started.dbs.splice(guard.started.dbs.indexOf(db), 1);
  return rows;
}

async function main() {
  const startedAt = new Date().toISOString();
  const one = await phase(1);
  const two = await phase(2);
  const clean = (rows) => rows.every((r) => r.lost === 0 && r.dup === 0 && r.ackErrors === 0 && !r.aborted);
  const res = {
    workload: 'W6 two instances + Redis',
    startedAt,
    options: opt,
    environment: environment({ database: 'PostgreSQL (local, fresh database per phase)', bus: 'Redis (local)' }),
    oneInstance: one,
    twoInstances: two,
    targets: { noLossNoDup: clean(one) && clean(two) },
  };
  const rowOf = (label, r) => [label, r.offeredRate, r.achievedRate, `${r.delivered}/${r.sent}`, r.lost, r.dup, fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p99), fmtMs(r.latencyMs.max), r.serverCpuPct, r.postgresCpuPct, fmtBytes(r.serverRssPeak)];
  const md = [
    `# W6 — two instances + Redis (${startedAt})`,
    `${opt.pairs} pairs, open loop, ${opt.stepSeconds} s per step, a fresh PostgreSQL database per phase, Redis pub/sub bus in both phases. "1 instance": both ends of every pair on one server. "2 instances": the two ends on different servers (server CPU and RSS are the sum of both).`,
    table(['target', 'verdict', 'measured'], [['every message delivered once across instances', verdict(res.targets.noLossNoDup), `lost ${[...one, ...two].reduce((a, r) => a + r.lost, 0)}, dup ${[...one, ...two].reduce((a, r) => a + r.dup, 0)}`]]),
    table(['setup', 'offered/s', 'achieved/s', 'delivered', 'lost', 'dup', 'p50 ms', 'p99 ms', 'max ms', 'srv CPU%', 'pg CPU%', 'srv RSS peak'], [...one.map((r) => rowOf('1 instance', r)), ...two.map((r) => rowOf('2 instances', r))]),
    table(['offered/s', 'p50 overhead ms', 'p99 overhead ms'], one.map((r, i) => [r.offeredRate, two[i] ? fmtMs(two[i].latencyMs.p50 - r.latencyMs.p50) : null, two[i] ? fmtMs(two[i].latencyMs.p99 - r.latencyMs.p99) : null])),
  ];
  log(`wrote ${writeWorkload(opt.out, smoke ? 'w6-smoke' : 'w6', res, md).join(', ')}`);
  if (!res.targets.noLossNoDup) process.exitCode = 1;
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
