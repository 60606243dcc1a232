/**
 * Starts a baseline server (bench/baselines/*-server.mjs) as a child process on 127.0.0.1 and a
 * free port, waits for /healthz, and stops it by its own PID. Mirrors env.mjs spawnServer's shape
 * ({ pid, url, stop }) so compare.mjs samples every system the same way.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, sleep, ROOT } from './env.mjs';

const FILES = { socketio: 'socketio-server.mjs', polling: 'polling-server.mjs' };

export async function spawnBaseline({ kind, databaseUrl, poolSize = 10 }) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), DATABASE_URL: databaseUrl, POOL_SIZE: String(poolSize) };
  const proc = spawn(process.execPath, [path.join(ROOT, 'bench/baselines', FILES[kind])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (b) => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${kind} baseline exited with ${proc.exitCode}:\n${output.join('')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${kind} baseline did not become ready in 30 s:\n${output.join('')}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return {
    kind,
    pid: proc.pid,
    url,
    proc,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
