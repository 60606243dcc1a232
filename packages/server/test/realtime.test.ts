import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, type StreamEvent } from '@sohbet/protocol';
import { sql } from '../src/db/db.ts';
import { dbKinds, startTestServer, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

let n = 0;
const cid = () => `rt-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;
const texts = (evs: StreamEvent[], conversationId?: string) =>
  evs.flatMap((e) => (e.type === 'chat.message.created' && (!conversationId || e.data.message.conversationId === conversationId) ? [e.data.message.text] : []));
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe.each(dbKinds)('real-time stream on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer({ db: kind })));
  afterAll(() => s.close());

  it('G3: a client that reconnects with its cursor gets every missed event once, in order', async () => {
    const a = connectSocket(s.wsUrl, await s.token('g3-a'));
    const b1 = connectSocket(s.wsUrl, await s.token('g3-b'));
    await b1.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'g3-b' });
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'one' });
    await b1.waitFor((e) => e.type === 'chat.message.created');
    const cursor = b1.cursor!;
    await b1.close();
    for (const t of ['two', 'three', 'four']) await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: t });
    const b2 = connectSocket(s.wsUrl, await s.token('g3-b'), { lastEventId: cursor });
    await until(() => texts(b2.events).length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(texts(b2.events)).toEqual(['two', 'three', 'four']);
    // Cursors are gap-free per user.
    const cursors = b2.events.filter((e) => e.cursor && e.type !== 'sync.ready').map((e) => Number(e.cursor));
    expect(cursors).toEqual(cursors.map((_, i) => Number(cursor) + 1 + i));
    await a.close();
    await b2.close();
  });

  it('G3: resumes after the server kills the socket mid-stream, with nothing lost or repeated', async () => {
    const a = connectSocket(s.wsUrl, await s.token('kill-a'));
    const b = connectSocket(s.wsUrl, await s.token('kill-b'));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'kill-b' });
    await b.waitFor((e) => e.type === 'chat.conversation.updated');
    const total = 60;
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: `m${i}` });
        if (i === 20 || i === 40) b.raw()?.terminate();
      }
    })();
    await sending;
    await until(() => texts(b.events, conv.id).length >= total, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(b.events, conv.id)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    expect(b.closes.length).toBeGreaterThanOrEqual(2);
    await a.close();
    await b.close();
  });

  it('G3: a cursor older than retention gets an explicit resync signal, never a silent gap', async () => {
    const a = connectSocket(s.wsUrl, await s.token('ret-a'));
    const b = connectSocket(s.wsUrl, await s.token('ret-b'));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'ret-b' });
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'old' });
    await b.waitFor((e) => e.type === 'chat.message.created');
    await b.close();
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'missed' });
    await s.app.services.database.db.execute(sql`update user_events set created_at = now() - interval '400 days' where user_id = 'ret-b'`);
    expect(await s.app.connections.prune()).toBeGreaterThan(0);
    const b2 = connectSocket(s.wsUrl, await s.token('ret-b'), { lastEventId: '1' });
    const resync = await b2.waitFor((e) => e.type === 'sync.resync');
    expect(resync.data).toMatchObject({ reason: 'retention' });
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'new' });
    await b2.waitFor((e) => e.type === 'chat.message.created');
    expect(texts(b2.events)).toEqual(['new']);
    await a.close();
    await b2.close();
  });

  it('the same cursor works over plain HTTP (sync.since) for clients without a socket', async () => {
    const tokenA = await s.token('http-a');
    const tokenB = await s.token('http-b');
    const a = connectSocket(s.wsUrl, tokenA);
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'http-b' });
    for (const t of ['x', 'y', 'z']) await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: t });
    const get = async (cursor: string | undefined, limit: number) => {
      const input = encodeURIComponent(JSON.stringify({ cursor, limit }));
      const res = await fetch(`${s.url}/trpc/sync.since?input=${input}`, { headers: { authorization: `Bearer ${tokenB}` } });
      return (await res.json()).result.data as { events: StreamEvent[]; cursor: string; hasMore: boolean };
    };
    const p1 = await get('0', 2);
    expect(p1.hasMore).toBe(true);
    const p2 = await get(p1.cursor, 10);
    expect(p2.hasMore).toBe(false);
    expect(texts([...p1.events, ...p2.events])).toEqual(['x', 'y', 'z']);
    const p3 = await get(p2.cursor, 10);
    expect(p3.events).toEqual([]);
    await a.close();
  });

  it('delivers receipts (delivered, then read) to the sender', async () => {
    const a = connectSocket(s.wsUrl, await s.token('rc-a'));
    const b = connectSocket(s.wsUrl, await s.token('rc-b'));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'rc-b' });
    const m = await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'hello' });
    await b.waitFor((e) => e.type === 'chat.message.created');
    await b.trpc.chat.markDelivered.mutate({ conversationId: conv.id, seq: m.seq });
    const delivered = await a.waitFor((e) => e.type === 'chat.receipt' && e.data.userId === 'rc-b');
    expect(delivered.data).toMatchObject({ lastDeliveredSeq: 1, lastReadSeq: 0 });
    await b.trpc.chat.markRead.mutate({ conversationId: conv.id, seq: m.seq });
    const read = await a.waitFor((e) => e.type === 'chat.receipt' && e.data.userId === 'rc-b' && e.data.lastReadSeq === 1);
    expect(read.data).toMatchObject({ lastDeliveredSeq: 1, lastReadSeq: 1 });
    await a.close();
    await b.close();
  });

  it('typing reaches the other members only, and is never stored', async () => {
    const a = connectSocket(s.wsUrl, await s.token('ty-a'));
    const b = connectSocket(s.wsUrl, await s.token('ty-b'));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'ty-b' });
    await b.waitFor((e) => e.type === 'chat.conversation.updated');
    await a.trpc.chat.typing.mutate({ conversationId: conv.id });
    const t = await b.waitFor((e) => e.type === 'chat.typing');
    expect(t.data).toMatchObject({ conversationId: conv.id, userId: 'ty-a' });
    expect(t.cursor).toBeUndefined();
    // A reconnect right after an ephemeral event still resumes from the durable cursor (tRPC's own lastEventId).
    const before = b.cursor;
    const group = await a.trpc.chat.createGroup.mutate({ title: 'typing group', memberIds: ['ty-b'] });
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'after typing' });
    await b.waitFor((e) => e.type === 'chat.message.created');
    await a.trpc.chat.typing.mutate({ conversationId: group.id });
    await b.waitFor((e) => e.type === 'chat.typing' && e.data.conversationId === group.id);
    b.raw()?.terminate();
    await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: 'while away' });
    await until(() => texts(b.events).includes('while away'));
    expect(texts(b.events)).toEqual(['after typing', 'while away']);
    expect(Number(b.cursor)).toBeGreaterThan(Number(before));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.events.some((e) => e.type === 'chat.typing')).toBe(false);
    await a.close();
    await b.close();
  });

  it('presence: online while any device is connected, last seen when the last one leaves', async () => {
    const watcher = connectSocket(s.wsUrl, await s.token('pr-w'));
    await watcher.ready();
    const token = await s.token('pr-u');
    await watcher.trpc.chat.openDirect.mutate({ userId: 'pr-u' });
    const d1 = connectSocket(s.wsUrl, token);
    const d2 = connectSocket(s.wsUrl, token);
    await watcher.waitFor((e) => e.type === 'presence.updated' && e.data.userId === 'pr-u' && e.data.online);
    await d1.trpc.users.me.query();
    await d2.trpc.users.me.query();
    await d1.close();
    await new Promise((r) => setTimeout(r, 200));
    expect((await watcher.trpc.users.presence.query({ userIds: ['pr-u'] }))[0]!.online).toBe(true);
    await d2.close();
    const off = await watcher.waitFor((e) => e.type === 'presence.updated' && e.data.userId === 'pr-u' && !e.data.online);
    expect(off.type === 'presence.updated' && off.data.lastSeenAt).toBeTruthy();
    const [p] = await watcher.trpc.users.presence.query({ userIds: ['pr-u'] });
    expect(p).toMatchObject({ online: false });
    expect(p!.lastSeenAt).not.toBeNull();
    await watcher.close();
  });

  it('presence: someone who blocked you shows neither online nor last seen, and sends you no presence events', async () => {
    const blocked = connectSocket(s.wsUrl, await s.token('pb-blocked'));
    await blocked.ready();
    const blockerToken = await s.token('pb-blocker');
    await blocked.trpc.chat.openDirect.mutate({ userId: 'pb-blocker' });
    const first = connectSocket(s.wsUrl, blockerToken);
    await blocked.waitFor((e) => e.type === 'presence.updated' && e.data.userId === 'pb-blocker' && e.data.online);
    await first.trpc.users.block.mutate({ userId: 'pb-blocked' });
    await first.close();
    // Seen again while blocking: the blocked user learns nothing, by event or by asking.
    const again = connectSocket(s.wsUrl, blockerToken);
    await again.trpc.users.me.query();
    const count = () => blocked.events.filter((e) => e.type === 'presence.updated' && e.data.userId === 'pb-blocker').length;
    const before = count();
    await new Promise((r) => setTimeout(r, 300));
    expect(count()).toBe(before);
    expect(await blocked.trpc.users.presence.query({ userIds: ['pb-blocker'] })).toEqual([{ userId: 'pb-blocker', online: false, lastSeenAt: null }]);
    // The blocker still sees the blocked user's presence (blocking is one-way).
    expect((await again.trpc.users.presence.query({ userIds: ['pb-blocked'] }))[0]!.online).toBe(true);
    await again.close();
    await blocked.close();
  });
});

describe('WebSocket authentication and protocol', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('closes with 4401 on an invalid token', async () => {
    const c = connectSocket(s.wsUrl, 'not-a-token');
    await until(() => c.closes.length > 0);
    expect(c.closes[0]).toEqual({ code: CLOSE_CODES.unauthenticated, reason: 'auth.invalid' });
    await c.close();
  });

  it('closes with 4401 (auth.expired) when the token expires while connected', async () => {
    // exp is in whole seconds: a 2 s token has 1–2 s left, room for the query on a busy machine.
    const c = connectSocket(s.wsUrl, await s.token('exp-u', { ttlSeconds: 2 }));
    await c.trpc.users.me.query();
    await until(() => c.closes.length > 0, 5000);
    expect(c.closes[0]!.code).toBe(CLOSE_CODES.unauthenticated);
    expect(['auth.expired', 'auth.invalid']).toContain(c.closes[0]!.reason);
    await c.close();
  });

  it('closes with 4426 when the client speaks an unsupported protocol version', async () => {
    const c = connectSocket(s.wsUrl, await s.token('v-u'), { v: 99 });
    await until(() => c.closes.length > 0);
    expect(c.closes[0]).toEqual({ code: CLOSE_CODES.unsupportedProtocol, reason: 'protocol.unsupported_version' });
    await c.close();
  });

  it('a slow consumer cannot grow server memory: a full queue is repaired from the log, not buffered', { timeout: 120_000 }, async () => {
    // One user bursting 120 messages is a load generator, not a person: the message limit is off here.
    const small = await startTestServer({ env: { WS_MAX_QUEUE: '16', RATE_LIMITS: 'message=off' } });
    const a = connectSocket(small.wsUrl, await small.token('slow-a'));
    const b = connectSocket(small.wsUrl, await small.token('slow-b'));
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'slow-b' });
    await b.waitFor((e) => e.type === 'chat.conversation.updated');
    // Publish many events at once, faster than the stream can drain its 16-slot queue.
    await Promise.all(Array.from({ length: 120 }, (_, i) => a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: cid(), text: `burst${i}` })));
    await until(() => texts(b.events, conv.id).length >= 120, 10_000);
    const got = b.events.filter((e) => e.type === 'chat.message.created').map((e) => (e.type === 'chat.message.created' ? e.data.message.seq : 0));
    expect(got).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    await a.close();
    await b.close();
    await small.close();
  });
});
