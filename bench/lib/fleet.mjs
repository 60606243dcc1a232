/**
 * What every workload script shares: option parsing, forked load-generator processes
 * (bench/worker.mjs, talking over IPC), and cleanup of exactly what this run started
 * (workers, servers, databases) with a global hard stop.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkWorker } from './fork-rpc.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** `--key=value` / `--flag` arguments as an object of strings. */
export function parseArgs(args = process.argv.slice(2)) {
  return Object.fromEntries(
    args.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k, v ?? 'true'];
    }),
  );
}

export const numberList = (s) => String(s).split(',').map(Number).filter((x) => x > 0);

export function logger(tag) {
  return (...a) => console.log(`[${tag} ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

/** High-resolution wall-clock ms, comparable across processes on this host. */
export const epochNow = () => performance.timeOrigin + performance.now();

/** Starts a bench/worker.mjs load-generator process; `call(cmd, args)` runs one of its handlers. */
export function startWorker(id, { env = {} } = {}) {
  return forkWorker(path.join(HERE, '..', 'worker.mjs'), id, env);
}

/**
 * Tracks what a run started and stops it on exit, SIGINT/SIGTERM or after `hardStopMs`.
 * `started.workers`, `started.servers` (objects with stop()), `started.dbs` (with drop()).
 */
export function runGuard({ hardStopMs, log }) {
  const started = { workers: [], servers: [], dbs: [], closers: [] };
  let cleaning = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const w of started.workers) {
        try {
          if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
        } catch {}
      }
      for (const s of started.servers) await s.stop().catch(() => {});
      for (const c of started.closers) await c().catch(() => {});
      for (const d of started.dbs) await d.drop().catch((e) => log('drop database failed:', e.message));
    })());
  process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));
  const timer = setTimeout(() => {
    log(`global time limit (${Math.round(hardStopMs / 60_000)} min) reached: stopping`);
    cleanup().then(() => process.exit(2));
  }, hardStopMs);
  timer.unref();
  return { started, cleanup, done: () => clearTimeout(timer) };
}

/** Every worker's `pending` count summed: messages sent but not yet received (bounded wait until 0). */
export async function waitDelivered(workers, { maxMs = 60_000, sleepMs = 500 } = {}) {
  const t0 = Date.now();
  let left = 0;
  while (Date.now() - t0 < maxMs) {
    left = (await Promise.all(workers.map((w) => w.call('pending')))).reduce((a, x) => a + x.pending, 0);
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, sleepMs));
  }
  return { left, seconds: (Date.now() - t0) / 1000 };
}
