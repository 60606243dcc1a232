import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, type MessageDTO } from '@sohbet/protocol';
import { SohbetError } from '../src/errors.ts';
import type { ClientEventMap, ClientStatus } from '../src/events.ts';
import { clientFor, memoryStorage, net, record, sleep, startTestServer, until, type TestServer } from './support.ts';

const texts = (ms: MessageDTO[], conversationId?: string) => ms.filter((m) => !conversationId || m.conversationId === conversationId).map((m) => m.text);

describe('SDK client against a real server', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('goes idle → connecting → connected, and the socket URL is derived from the http URL', async () => {
    const c = clientFor(s, 'st-a');
    const statuses = record<ClientStatus>((f) => c.on('status', f));
    expect(c.status).toBe('idle');
    await c.connect();
    expect(c.status).toBe('connected');
    expect(statuses).toEqual(['connecting', 'connected']);
    expect((await c.users.me()).id).toBe('st-a');
    c.disconnect();
    expect(c.status).toBe('closed');
  });

  it('G3: resumes after the socket is killed and receives every missed message once, in order', async () => {
    const a = clientFor(s, 'g3-a');
    const nb = net();
    const b = clientFor(s, 'g3-b', { net: nb });
    await Promise.all([a.connect(), b.connect()]);
    const got = record<MessageDTO>((f) => b.on('message', f));
    const conv = await a.chat.openDirect({ userId: 'g3-b' });
    const total = 40;
    for (let i = 0; i < total; i++) {
      await a.chat.send({ conversationId: conv.id, text: `m${i}` });
      if (i % 10 === 5) nb.kill();
    }
    await until(() => texts(got, conv.id).length >= total, 10_000);
    await sleep(200);
    expect(texts(got, conv.id)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    expect(nb.sockets.length).toBeGreaterThanOrEqual(5);
    a.disconnect();
    b.disconnect();
  });

  it('G3: resumes from the last durable cursor even when an ephemeral event (typing) came last', async () => {
    // tRPC alone would resume from the first lastEventId here: typing events carry no id.
    const a = clientFor(s, 'eph-a');
    const nb = net();
    const b = clientFor(s, 'eph-b', { net: nb });
    await Promise.all([a.connect(), b.connect()]);
    const got = record<MessageDTO>((f) => b.on('message', f));
    const typing = record((f) => b.on('typing', f));
    const conv = await a.chat.openDirect({ userId: 'eph-b' });
    await a.chat.send({ conversationId: conv.id, text: 'before' });
    await until(() => got.length === 1);
    await a.chat.typing(conv.id);
    await until(() => typing.length === 1);
    nb.open = false;
    nb.kill();
    await until(() => b.status !== 'connected');
    for (const t of ['x', 'y', 'z']) await a.chat.send({ conversationId: conv.id, text: t });
    nb.open = true;
    await until(() => got.length >= 4);
    await sleep(150);
    expect(texts(got)).toEqual(['before', 'x', 'y', 'z']);
    a.disconnect();
    b.disconnect();
  });

  it('G3: a restarted app resumes from the cursor it persisted and gets only what it missed', async () => {
    const storage = memoryStorage();
    const a = clientFor(s, 'rs-a');
    const b1 = clientFor(s, 'rs-b', { storage });
    await Promise.all([a.connect(), b1.connect()]);
    const conv = await a.chat.openDirect({ userId: 'rs-b' });
    const got1 = record<MessageDTO>((f) => b1.on('message', f));
    await a.chat.send({ conversationId: conv.id, text: 'one' });
    await until(() => got1.length === 1);
    await sleep(50);
    b1.disconnect();
    expect(storage.data.get('sohbet:cursor')).toBe(b1.cursor);
    await a.chat.send({ conversationId: conv.id, text: 'two' });
    await a.chat.send({ conversationId: conv.id, text: 'three' });
    const b2 = clientFor(s, 'rs-b', { storage });
    await b2.restored;
    expect(b2.cursor).toBe(b1.cursor);
    const got2 = record<MessageDTO>((f) => b2.on('message', f));
    await b2.connect();
    await until(() => got2.length >= 2);
    await sleep(100);
    expect(texts(got2)).toEqual(['two', 'three']);
    a.disconnect();
    b2.disconnect();
  });

  it('G3: a cursor past retention gets a resync event, then live events continue', async () => {
    const { sql } = await import('../../server/src/db/db.ts');
    const storage = memoryStorage();
    const a = clientFor(s, 'ret-a');
    await a.connect();
    await s.token('ret-b');
    const conv = await a.chat.openDirect({ userId: 'ret-b' });
    await a.chat.send({ conversationId: conv.id, text: 'old' });
    await s.app.services.database.db.execute(sql`update user_events set created_at = now() - interval '400 days' where user_id = 'ret-b'`);
    await s.app.connections.prune();
    storage.data.set('sohbet:cursor', '0');
    const b = clientFor(s, 'ret-b', { storage });
    const resyncs = record((f) => b.on('resync', f));
    const got = record<MessageDTO>((f) => b.on('message', f));
    await b.connect();
    await until(() => resyncs.length === 1);
    expect(resyncs[0]).toMatchObject({ reason: 'retention' });
    await a.chat.send({ conversationId: conv.id, text: 'new' });
    await until(() => got.length === 1);
    expect(texts(got)).toEqual(['new']);
    a.disconnect();
    b.disconnect();
  });

  it('catchUp() fetches missed events over HTTP with the same cursor, without a socket', async () => {
    const a = clientFor(s, 'cu-a');
    const b = clientFor(s, 'cu-b', { fetch: (...args: Parameters<typeof fetch>) => fetch(...args) });
    await Promise.all([a.connect(), b.connect()]);
    const conv = await a.chat.openDirect({ userId: 'cu-b' });
    await until(() => b.cursor !== undefined);
    b.disconnect();
    const got = record<MessageDTO>((f) => b.on('message', f));
    await a.chat.send({ conversationId: conv.id, text: 'p' });
    await a.chat.send({ conversationId: conv.id, text: 'q' });
    expect(await b.catchUp()).toBeGreaterThanOrEqual(2);
    expect(texts(got)).toEqual(['p', 'q']);
    expect(await b.catchUp()).toBe(0);
    a.disconnect();
  });

  it('auth.invalid: closes with 4401, status unauthenticated, connect() rejects; then retries with a fresh token', async () => {
    const n = net();
    let good = false;
    const c = clientFor(s, 'auth-u', { net: n, token: async () => (good ? s.token('auth-u') : 'not-a-token') });
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SohbetError);
    expect((err as SohbetError).code).toBe('auth.invalid');
    expect(c.status).toBe('unauthenticated');
    expect(n.closes[0]).toEqual({ code: CLOSE_CODES.unauthenticated, reason: 'auth.invalid' });
    good = true;
    await until(() => c.status === 'connected');
    expect((await c.users.me()).id).toBe('auth-u');
    c.disconnect();
  });

  it('auth.expired: a token that expires while connected → unauthenticated, then connected again with a fresh token', async () => {
    let first = true;
    const c = clientFor(s, 'exp-u', {
      token: async () => {
        const ttlSeconds = first ? 1 : 3600;
        first = false;
        return s.token('exp-u', { ttlSeconds });
      },
    });
    const statuses = record<ClientStatus>((f) => c.on('status', f));
    await c.connect();
    await until(() => statuses.includes('unauthenticated'), 5000);
    await until(() => c.status === 'connected', 5000);
    expect(statuses).toEqual(['connecting', 'connected', 'unauthenticated', 'connected']);
    c.disconnect();
  });

  it('protocol.unsupported_version: a 4426 close ends in status closed without retrying', async () => {
    const n = net();
    n.rewrite = (d) => d.replace('"v":"1"', '"v":"99"');
    const c = clientFor(s, 'v-u', { net: n });
    const err = await c.connect().catch((e: unknown) => e);
    expect((err as SohbetError).code).toBe('protocol.unsupported_version');
    expect(c.status).toBe('closed');
    await sleep(200);
    expect(n.sockets).toHaveLength(1);
  });

  it('maps server refusals to SohbetError with the stable code (chat.not_member, input.invalid)', async () => {
    const a = clientFor(s, 'err-a');
    const x = clientFor(s, 'err-x');
    await Promise.all([a.connect(), x.connect()]);
    await s.token('err-b');
    const conv = await a.chat.openDirect({ userId: 'err-b' });
    const e1 = await x.chat.history({ conversationId: conv.id }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SohbetError);
    expect(e1).toMatchObject({ code: 'chat.not_member', status: 403 });
    const e2 = await a.chat.history({ conversationId: conv.id, limit: 100_000 }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'input.invalid' });
    expect((e2 as SohbetError).issues?.length).toBeGreaterThan(0);
    const e3 = await clientFor(s, 'err-y').chat.list().catch((e: unknown) => e);
    expect(e3).toMatchObject({ code: 'client.not_connected' });
    a.disconnect();
    x.disconnect();
  });

  it('delivered receipts reach the sender without the receiver calling anything, debounced per conversation', async () => {
    const a = clientFor(s, 'dr-a');
    const b = clientFor(s, 'dr-b');
    await Promise.all([a.connect(), b.connect()]);
    const calls: Array<{ actor: string; seq: number }> = [];
    const svc = s.app.services.messages;
    const orig = svc.markDelivered.bind(svc);
    svc.markDelivered = async (actor, input) => {
      calls.push({ actor, seq: input.seq });
      return orig(actor, input);
    };
    try {
      const conv = await a.chat.openDirect({ userId: 'dr-b' });
      const receipts = record<ClientEventMap['receipt']>((f) => a.on('receipt', f));
      for (let i = 0; i < 5; i++) await a.chat.send({ conversationId: conv.id, text: `r${i}` });
      await until(() => receipts.some((r) => r.userId === 'dr-b' && r.lastDeliveredSeq === 5));
      await sleep(300);
      const byB = calls.filter((c) => c.actor === 'dr-b');
      expect(byB.length).toBeGreaterThanOrEqual(1);
      expect(byB.length).toBeLessThan(5);
      expect(byB.at(-1)!.seq).toBe(5);
      // The sender never reports its own messages as delivered.
      expect(calls.filter((c) => c.actor === 'dr-a')).toEqual([]);
    } finally {
      svc.markDelivered = orig;
    }
    a.disconnect();
    b.disconnect();
  });

  it('typing reaches the other member, throttled to one call per 3 s per conversation', async () => {
    const a = clientFor(s, 'ty-a');
    const b = clientFor(s, 'ty-b');
    await Promise.all([a.connect(), b.connect()]);
    const conv = await a.chat.openDirect({ userId: 'ty-b' });
    const typing = record((f) => b.on('typing', f));
    expect(await a.chat.typing(conv.id)).toBe(true);
    expect(await a.chat.typing(conv.id)).toBe(false);
    expect(await a.chat.typing(conv.id)).toBe(false);
    await until(() => typing.length === 1);
    await sleep(200);
    expect(typing).toEqual([{ conversationId: conv.id, userId: 'ty-a', expiresInMs: expect.any(Number) }]);
    a.disconnect();
    b.disconnect();
  });
});
