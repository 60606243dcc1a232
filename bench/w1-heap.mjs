#!/usr/bin/env node
/**
 * W1 memory anatomy: what one idle, authenticated connection (socket + `sync.events` open) costs
 * in the server's V8 heap, by object type. Takes a heap snapshot before and after N connections
 * and prints the per-connection difference per constructor, largest first. A diagnostic for the
 * "≤ 15 KB per idle connection" target (bench/run.mjs measures the RSS).
 *
 *   node bench/w1-heap.mjs [--conns=2000 --top=40]
 */
import { freshDatabase, serverApiBatch, spawnServer, sleep } from './lib/env.mjs';
import { logger, parseArgs, runGuard, startWorker } from './lib/fleet.mjs';

const argv = parseArgs();
const n = Number(argv.conns ?? 2000);
const top = Number(argv.top ?? 40);
const pg = argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet';
const log = logger('w1-heap');
const guard = runGuard({ hardStopMs: 10 * 60_000, log });

async function main() {
  const db = await freshDatabase(pg);
  guard.started.dbs.push(db);
  const server = await spawnServer({ databaseUrl: db.url });
  guard.started.servers.push(server);
  await serverApiBatch(server, 'server.upsertUser', Array.from({ length: n }, (_, i) => ({ id: `hu${i}`, name: `Heap ${i}` })));
  const worker = startWorker(0);
  guard.started.workers.push(worker);
  // One connection first, so lazily created per-process state is not counted per connection.
  await worker.call('connect', { wsUrl: server.wsUrl, users: [{ idx: 0, token: server.token('hu0') }], concurrency: 1 }, 60_000);
  await sleep(2000);
  const before = await server.heapSummary();
  const res = await worker.call('connect', { wsUrl: server.wsUrl, users: Array.from({ length: n - 1 }, (_, k) => ({ idx: k + 1, token: server.token(`hu${k + 1}`) })), concurrency: 64 }, 600_000);
  await sleep(3000);
  const after = await server.heapSummary();
  const conns = res.connected;
  const rows = [];
  let total = 0;
  for (const [k, a] of after) {
    const b = before.get(k) ?? { size: 0, count: 0 };
    const ds = a.size - b.size;
    total += ds;
    rows.push({ k, bytes: ds / conns, count: (a.count - b.count) / conns });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  console.log(`${conns} connections; V8 heap +${(total / conns / 1024).toFixed(2)} KB per connection (self sizes, after full GC)`);
  console.log('bytes/conn  objs/conn  type:constructor');
  for (const r of rows.slice(0, top)) console.log(`${r.bytes.toFixed(0).padStart(10)}  ${r.count.toFixed(2).padStart(9)}  ${r.k}`);
}

main()
  .catch((e) => (console.error(e), (process.exitCode = 1)))
  .finally(() => guard.cleanup());
