/**
 * Fault injection (issue #9, G1/G3/G6): two server processes on a PRIVATE PostgreSQL and a PRIVATE
 * Redis (never the shared ones), with traffic running while we (a) restart PostgreSQL, (b) stop
 * Redis, (c) SIGKILL an instance, (d) cut a client's connection. In each: no acknowledged message is
 * lost or duplicated, per-conversation order holds, the system recovers by itself, and /readyz
 * names what is down meanwhile.
 *
 * Redis is stopped for 30 s, as long as a real Redis failover or restart can take.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { AuthService } from '../src/auth/auth.service.ts';
import { TEST_API_KEY, TEST_SECRET } from './harness.ts';
import { privateInfraAvailable, sleep, startPostgres, startProxy, startRedis, type PrivatePostgres, type PrivateRedis } from './faults.infra.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { connectSocket, type TestSocket } from './ws-client.ts';

const auth = new AuthService({ jwtSecret: TEST_SECRET });

describe.skipIf(!privateInfraAvailable)('faults: two instances on a private PostgreSQL and Redis', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  const servers: ServerProcess[] = [];
  let env: Record<string, string>;
  let conv: string;
  let senderToken: string;
  let n = 0;

  const server = (i: number) => servers[i]!;
  const spawnOne = async (port?: number) => spawnServer(env, port);

  beforeAll(async () => {
    pg = await startPostgres();
    redis = await startRedis();
    env = { DATABASE_URL: pg.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'faults:' };
    servers.push(await spawnOne(), await spawnOne());
    for (const id of ['f-sender', 'f-receiver']) {
      const r = await fetch(`${server(0).url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id, name: id }) });
      expect(r.status).toBe(200);
    }
    senderToken = await auth.mint({ id: 'f-sender' }, 3600);
    const open = await post(server(0).url, 'chat.openDirect', { userId: 'f-receiver' });
    conv = (open.body as { result: { data: { id: string } } }).result.data.id;
  }, 120_000);

  afterAll(async () => {
    // On failure, the servers' last words.
    for (const s of servers) if (process.env.FAULTS_LOG) console.log(s.output.join('').split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-10).join('\n').slice(0, 4000));
    for (const s of servers) await s.stop('SIGKILL');
    await redis?.stop();
    pg?.destroy();
  });

  async function post(base: string, path: string, input: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${base}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${senderToken}` },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(3000),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  /**
   * Sends `count` messages one after another, like a phone would: each retried with the same
   * clientId (G2) until acknowledged, on whichever instance answers. Returns what was acknowledged.
   */
  async function traffic(count: number, during: () => Promise<void>): Promise<Array<{ text: string; seq: number }>> {
    const acked: Array<{ text: string; seq: number }> = [];
    let faultDone = false;
    const fault = (async () => {
      await sleep(400);
      await during();
      faultDone = true;
    })();
    for (let i = 0; i < count || !faultDone; i++) {
      const text = `m${n++}`;
      const clientId = `fault-${text}-xxxxxxxx`;
      for (let attempt = 0; ; attempt++) {
        const live = servers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null);
        const target = live[attempt % live.length]!;
        const r = await post(target.url, 'chat.send', { conversationId: conv, clientId, text }).catch(() => ({ status: 0, body: null }));
        if (r.status === 200) {
          acked.push({ text, seq: (r.body as { result: { data: { seq: number } } }).result.data.seq });
          break;
        }
        if (attempt > 200) throw new Error(`message ${text} never acknowledged: last ${r.status} ${JSON.stringify(r.body)}`);
        await sleep(100);
      }
      await sleep(30);
    }
    await fault;
    return acked;
  }

  /** Every acknowledged message is stored once, in the order it was acknowledged (G1, G2). */
  async function expectStored(acked: Array<{ text: string; seq: number }>) {
    const base = servers.find((s) => s.proc.exitCode === null && s.proc.signalCode === null)!.url;
    const lastSeq = acked[acked.length - 1]!.seq;
    // History pages hold at most 200 messages: a 30 s outage under traffic stores more than that.
    const page: Array<{ seq: number; text: string }> = [];
    for (let after = acked[0]!.seq - 1; after < lastSeq; ) {
      const res = await fetch(`${base}/trpc/chat.history?input=${encodeURIComponent(JSON.stringify({ conversationId: conv, after, limit: 200 }))}`, { headers: { authorization: `Bearer ${senderToken}` } });
      const got = ((await res.json()) as { result: { data: { messages: Array<{ seq: number; text: string }> } } }).result.data.messages.sort((a, b) => a.seq - b.seq);
      if (got.length === 0) break;
      page.push(...got);
      after = got[got.length - 1]!.seq;
    }
    const stored = page.filter((m) => m.seq <= lastSeq);
    expect(stored.map((m) => m.text)).toEqual(acked.map((a) => a.text));
    expect(stored.map((m) => m.seq)).toEqual(acked.map((a) => a.seq));
  }

  /** The receiver's socket got each acknowledged message exactly once, in seq order (G3). */
  async function expectDelivered(sock: TestSocket, acked: Array<{ text: string; seq: number }>) {
    const last = acked[acked.length - 1]!.seq;
    await sock.waitFor((e) => e.type === 'chat.message.created' && e.data.message.conversationId === conv && e.data.message.seq === last, 30_000);
    const seqs = sock.events.flatMap((e: StreamEvent) => (e.type === 'chat.message.created' && e.data.message.conversationId === conv ? [e.data.message.seq] : []));
    const mine = seqs.filter((s) => s >= acked[0]!.seq && s <= last);
    expect(mine).toEqual(acked.map((a) => a.seq));
  }

  async function readyz(base: string): Promise<{ status: number; down: string[] }> {
    try {
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      return { status: r.status, down: ((await r.json()) as { down: string[] }).down };
    } catch (err) {
      const proc = servers.find((x) => x.url === base)?.proc;
      return { status: 0, down: [`no answer: ${(err as Error).message} (${(err as Error & { cause?: Error }).cause?.message ?? ''}; exit ${proc?.exitCode ?? proc?.signalCode ?? 'none'})`] };
    }
  }

  async function until(f: () => Promise<boolean>, ms = 30_000, last?: () => string) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await f().catch(() => false)) return;
      await sleep(200);
    }
    throw new Error(`condition not reached in time${last ? `: ${last()}` : ''}`);
  }

  it('(a) PostgreSQL restarted mid-traffic: /readyz names postgresql meanwhile, no acknowledged message lost or doubled, order kept', { timeout: 120_000 }, async () => {
    const receiver = connectSocket(server(1).wsUrl, () => auth.mint({ id: 'f-receiver' }, 3600));
    await receiver.ready();
    const seen: string[][] = [];
    const acked = await traffic(30, async () => {
      pg.stop('fast');
      await until(async () => {
        const r = await readyz(server(0).url);
        seen.push(r.down);
        return r.status === 503 && r.down.includes('postgresql');
      }, 10_000, () => JSON.stringify(seen.slice(-3))).finally(() => pg.start());
    });
    expect(seen.some((d) => d.includes('postgresql')), JSON.stringify(seen)).toBe(true);
    await until(async () => (await readyz(server(0).url)).status === 200 && (await readyz(server(1).url)).status === 200);
    await expectStored(acked);
    await expectDelivered(receiver, acked);
    await receiver.close();
  });

  it('(b) Redis stopped for 30 s and started again: /readyz names redis meanwhile, the receiver on the other instance catches up once, in order', { timeout: 120_000 }, async () => {
    const receiver = connectSocket(server(1).wsUrl, () => auth.mint({ id: 'f-receiver' }, 3600));
    await receiver.ready();
    let downSeen = false;
    const acked = await traffic(30, async () => {
      await redis.stop();
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const r = await readyz(server(1).url).catch(() => null);
        if (r && r.status === 503 && r.down.includes('redis')) downSeen = true;
        await sleep(500);
      }
      await redis.start();
    });
    expect(downSeen).toBe(true);
    await until(async () => (await readyz(server(0).url)).status === 200 && (await readyz(server(1).url)).status === 200);
    await expectStored(acked);
    await expectDelivered(receiver, acked);
    await receiver.close();
  });

  it('(c) one instance killed with SIGKILL mid-traffic: the sender fails over, nothing acknowledged is lost or doubled, a restarted instance serves again', { timeout: 120_000 }, async () => {
    const receiver = connectSocket(server(1).wsUrl, () => auth.mint({ id: 'f-receiver' }, 3600));
    await receiver.ready();
    const port = Number(new URL(server(0).url).port);
    const acked = await traffic(30, async () => {
      await server(0).stop('SIGKILL');
      await sleep(1000);
    });
    await expectStored(acked);
    await expectDelivered(receiver, acked);
    servers[0] = await spawnOne(port);
    expect((await readyz(server(0).url)).status).toBe(200);
    await receiver.close();
  });

  it("(d) a client's connection cut and blackholed, then restored: it reconnects by itself and gets every message once, in order", { timeout: 120_000 }, async () => {
    const proxy = await startProxy(Number(new URL(server(1).url).port));
    const receiver = connectSocket(`ws://127.0.0.1:${proxy.port}/ws`, () => auth.mint({ id: 'f-receiver' }, 3600));
    await receiver.ready();
    const acked = await traffic(30, async () => {
      proxy.cut();
      await sleep(3000);
      proxy.restore();
    });
    await expectStored(acked);
    await expectDelivered(receiver, acked);
    // It did reconnect (the cut closed its socket at least once).
    expect(receiver.closes.length).toBeGreaterThan(0);
    await receiver.close();
    await proxy.close();
  });
});


