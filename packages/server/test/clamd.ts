/** A real clamd for tests: Debian's clamav-daemon with a signature database written here (EICAR). */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EICAR } from './media-fixtures.ts';

/** clamd's binary: CLAMD_PATH (set by scripts/test.mjs when present; CI requires it) or Debian's path. */
export const CLAMD = [process.env.CLAMD_PATH, '/usr/sbin/clamd'].find((p): p is string => !!p && existsSync(p));

/** Starts clamd on a unix socket with an EICAR signature; resolves once it listens (it opens the socket after loading the signatures). */
export async function startClamd(): Promise<{ socket: string; stop: () => void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-clamd-'));
  mkdirSync(path.join(dir, 'db'));
  writeFileSync(path.join(dir, 'db', 'sohbet-test.ndb'), `Sohbet-Test-EICAR:0:*:${Buffer.from(EICAR).toString('hex')}\n`);
  const socket = path.join(dir, 'clamd.sock');
  writeFileSync(path.join(dir, 'clamd.conf'), [`LocalSocket ${socket}`, `DatabaseDirectory ${path.join(dir, 'db')}`, 'Foreground yes', `LogFile ${path.join(dir, 'clamd.log')}`].join('\n') + '\n');
  const proc: ChildProcess = spawn(CLAMD!, ['-c', path.join(dir, 'clamd.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('clamd did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { socket, stop: () => proc.kill('SIGTERM') };
}

