// Client side of bench/media.mjs in its own thread: PUTs every 10 MB body at once, reports each time.
import { parentPort, workerData } from 'node:worker_threads';
const { base, tickets, size } = workerData;
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
parentPort.postMessage(times);
