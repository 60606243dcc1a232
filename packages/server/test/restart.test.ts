import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { AuthService } from '../src/auth/auth.service.ts';
import { freshPostgres, services, TEST_API_KEY, TEST_SECRET } from './harness.ts';
import { freePort, spawnServer, type ServerProcess } from './process.ts';
import { connectSocket } from './ws-client.ts';

const auth = new AuthService({ jwtSecret: TEST_SECRET });
const texts = (evs: StreamEvent[]) => evs.flatMap((e) => (e.type === 'chat.message.created' ? [e.data.message.text] : []));
const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function upsert(url: string, id: string) {
  await fetch(`${url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id, name: id }) });
}

/** Sends like the SDK's outbox: retries the same clientId until the server acknowledges it. */
async function sendReliably(c: ReturnType<typeof connectSocket>, conversationId: string, clientId: string, text: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await c.trpc.chat.send.mutate({ conversationId, clientId, text });
    } catch (err) {
      if (attempt > 200) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const targets: Array<[string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>]> = [
  ['PGlite on disk', async () => ({ env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-restart-')) }, cleanup: async () => {} })],
];
if (services.postgres)
  targets.push([
    'PostgreSQL',
    async () => {
      const db = await freshPostgres(services.postgres!);
      return { env: { DATABASE_URL: db.url, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-restart-')) }, cleanup: db.drop };
    },
  ]);

describe.each(targets)('server process killed and restarted mid-traffic (%s)', (_name, target) => {
  const procs: ServerProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
  });

  it('G6/G3/G2: kill -9 mid-traffic loses no acknowledged message, duplicates none and keeps order', async () => {
    const { env, cleanup } = await target();
    const port = await freePort();
    let server = await spawnServer(env, port);
    procs.push(server);
    await upsert(server.url, 'rs-a');
    await upsert(server.url, 'rs-b');
    const a = connectSocket(server.wsUrl, () => auth.mint({ id: 'rs-a' }));
    const b = connectSocket(server.wsUrl, () => auth.mint({ id: 'rs-b' }));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'rs-b' });
    const total = 40;
    const acked: number[] = [];
    const sender = (async () => {
      for (let i = 0; i < total; i++) {
        const m = await sendReliably(a, conv.id, `restart-msg-${String(i).padStart(4, '0')}`, `m${i}`);
        acked.push(m.seq);
      }
    })();
    await until(() => acked.length >= 15, 30_000);
    await server.stop('SIGKILL');
    server = await spawnServer(env, port);
    procs.push(server);
    await sender;
    await until(() => texts(b.events).length >= total, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(b.events)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    expect(acked).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const page = await a.trpc.chat.history.query({ conversationId: conv.id, limit: 100 });
    expect(page.messages.map((m) => m.text)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    await a.close();
    await b.close();
    await server.stop();
    await cleanup();
  }, 120_000); // server processes start (and PGlite recovers) in WASM: slow while the whole suite boots on two cores

  it('drains on SIGTERM: sockets are closed with 1001 and the process exits 0', async () => {
    const { env, cleanup } = await target();
    const server = await spawnServer(env);
    procs.push(server);
    await upsert(server.url, 'dr-a');
    const a = connectSocket(server.wsUrl, () => auth.mint({ id: 'dr-a' }));
    await a.ready();
    expect(await server.stop('SIGTERM')).toBe(0);
    await until(() => a.closes.length > 0, 5000);
    expect(a.closes[0]!.code).toBe(1001);
    await a.close();
    await cleanup();
  }, 120_000); // server processes start (and PGlite recovers) in WASM: slow while the whole suite boots on two cores
});
