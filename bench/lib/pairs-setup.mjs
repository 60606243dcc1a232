/**
 * Setup shared by the 1:1 workloads: P pairs of users with a direct conversation each (through
 * the server API), connected from forked workers (both ends of a pair in the same worker, so
 * one clock measures send and receipt). With several servers, the two ends of a pair connect
 * to different instances (W6).
 */
import { serverApiBatch } from './env.mjs';
import { startWorker } from './fleet.mjs';

export async function setupPairs({ servers, pairs, workers: nWorkers = 2, started, log, prefix = 'bu' }) {
  const api = servers[0];
  const uid = (i) => `${prefix}${i}`;
  const n = pairs * 2;
  const t0 = Date.now();
  await serverApiBatch(api, 'server.upsertUser', Array.from({ length: n }, (_, i) => ({ id: uid(i), name: `Bench ${i}` })));
  const convs = await serverApiBatch(api, 'server.openConversation', Array.from({ length: pairs }, (_, p) => ({ userIds: [uid(2 * p), uid(2 * p + 1)] })));
  const workers = Array.from({ length: nWorkers }, (_, i) => startWorker(i));
  started.workers.push(...workers);
  const byW = workers.map(() => []);
  // User 2p connects to servers[0], 2p+1 to servers[1 % S]: with two instances every message crosses Redis.
  for (let i = 0; i < n; i++) byW[Math.floor(i / 2) % nWorkers].push({ idx: i, token: api.token(uid(i)), wsUrl: servers[i % servers.length].wsUrl });
  const res = await Promise.all(workers.map((w, k) => w.call('connect', { wsUrl: api.wsUrl, users: byW[k], concurrency: 64 }, 600_000)));
  const connected = res.reduce((a, r) => a + r.connected, 0);
  const pairsByW = workers.map(() => []);
  convs.forEach((c, p) => pairsByW[p % nWorkers].push({ a: 2 * p, b: 2 * p + 1, conversationId: c.id }));
  await Promise.all(workers.map((w, k) => w.call('pairs', { pairs: pairsByW[k] })));
  log(`setup: ${n} users in ${pairs} pairs, ${connected} connected to ${servers.length} instance(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (connected < n) throw new Error(`only ${connected}/${n} clients connected: ${JSON.stringify(res.flatMap((r) => r.failures).slice(0, 2))}`);
  return { workers, convs, uid, connected };
}
