/** Runs the real server as a child process (`sohbet start`), for restart and multi-instance tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_API_KEY, TEST_SECRET } from './harness.ts';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/sohbet.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  wsUrl: string;
  proc: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Fault tests drive servers with a few users sending far faster than people: per-user limits off. */
export const LOAD_LIMITS = 'message=off,message.identical=off,connect=off';

export async function spawnServer(env: Record<string, string>, port?: number): Promise<ServerProcess> {
  const p = port ?? (await freePort());
  const proc = spawn(process.execPath, [bin, 'start'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(p), AUTH_JWT_SECRET: TEST_SECRET, SOHBET_API_KEY: TEST_API_KEY, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '2000', RATE_LIMITS: LOAD_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    // A server that does not come up in time is killed, not left running after the test fails.
    const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error(`server did not start:\n${output.join('')}`))), 60_000);
    const onData = (b: Buffer) => {
      output.push(b.toString());
      if (b.toString().includes('Sohbet listening')) (clearTimeout(timer), resolve());
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`server exited with ${code}:\n${output.join('')}`))));
  });
  return {
    url: `http://127.0.0.1:${p}`,
    wsUrl: `ws://127.0.0.1:${p}/ws`,
    proc,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
