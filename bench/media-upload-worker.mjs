// Client side of bench/media.mjs (and bench/loop-probe.mjs --uploads) in its own process, as the
// uploading phones would be: PUTs every 10 MB body at once and reports each one's time.
// Run through uploadFromClients(); a thread in the server's process would share its V8 platform
// threads and heap locks, which real clients never do.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Starts the client process and resolves with each upload's time (ms). */
export function uploadFromClients({ base, tickets, size }) {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m.times)));
    child.once('exit', (code) => reject(new Error(`upload client exited (code ${code})`)));
    child.send({ base, tickets, size });
  }).finally(() => child.connected && child.disconnect());
}

if (process.argv[2] === '--client') {
  process.once('message', async ({ base, tickets, size }) => {
    try {
      const body = new Uint8Array(size);
      body.set(new TextEncoder().encode('%PDF-1.4\n'));
      const times = await Promise.all(
        tickets.map(async (t) => {
          const t0 = performance.now();
          const r = await fetch(new URL(t.url, base), { method: t.method, headers: t.headers, body });
          if (!r.ok) throw new Error(`upload failed: ${r.status} ${await r.text()}`);
          return performance.now() - t0;
        }),
      );
      process.send({ times }, () => process.exit(0));
    } catch (err) {
      process.send({ error: String(err?.message ?? err) }, () => process.exit(1));
    }
  });
}
