/**
 * Forks a load-generator process and calls its IPC commands ({reqId, cmd, ...args} ->
 * {reqId, ok, result|error}), the protocol bench/worker.mjs and bench/lib/baseline-worker.mjs speak.
 */
import { fork } from 'node:child_process';

export function forkWorker(file, id, extraEnv = {}) {
  const proc = fork(file, [], { env: { ...process.env, ...extraEnv, BENCH_WORKER_ID: String(id) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const waiting = new Map();
  proc.on('message', (m) => {
    const w = waiting.get(m.reqId);
    if (!w) return;
    waiting.delete(m.reqId);
    m.ok ? w.resolve(m.result) : w.reject(new Error(`worker ${id}: ${m.error}`));
  });
  proc.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`worker ${id} exited with ${code}`));
    waiting.clear();
  });
  return {
    id,
    proc,
    call(cmd, args = {}, timeoutMs = 180_000) {
      const reqId = ++seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiting.delete(reqId), reject(new Error(`worker ${id}: ${cmd} timed out`))), timeoutMs);
        waiting.set(reqId, { resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
        proc.send({ reqId, cmd, ...args });
      });
    },
    kill() {
      try {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    },
  };
}
