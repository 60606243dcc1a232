import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDTO } from '@sohbet/protocol';
import { SohbetError } from '../src/errors.ts';
import { newClientId, type OutboxItem } from '../src/outbox.ts';
import { clientFor, memoryStorage, net, record, sleep, startTestServer, until, type TestServer } from './support.ts';

describe('offline outbox (G2)', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  /** A connected peer `a` with a direct conversation to `b`. */
  async function pair(a: string, b: string) {
    const peer = clientFor(s, a);
    await peer.connect();
    await s.token(b);
    const conv = await peer.chat.openDirect({ userId: b });
    const got = record<MessageDTO>((f) => peer.on('message', f));
    return { peer, conv, got: () => got.filter((m) => m.senderId === b) };
  }

  it('G2: a message sent offline is delivered exactly once after reconnect', async () => {
    const { peer, conv, got } = await pair('off-a', 'off-b');
    const n = net();
    n.open = false;
    const b = clientFor(s, 'off-b', { net: n });
    void b.connect().catch(() => {});
    const sending = b.chat.send({ conversationId: conv.id, text: 'sent offline' });
    await until(() => b.outbox.items.length === 1);
    expect(b.outbox.items[0]).toMatchObject({ conversationId: conv.id, text: 'sent offline', state: 'pending' });
    expect(b.outbox.items[0]!.clientId).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    await sleep(150);
    expect(b.status).toBe('connecting');
    n.open = true;
    const m = await sending;
    expect(m.text).toBe('sent offline');
    expect(b.outbox.items).toEqual([]);
    await until(() => got().length === 1);
    await sleep(200);
    expect(got().map((x) => x.text)).toEqual(['sent offline']);
    expect((await peer.chat.history({ conversationId: conv.id })).messages).toHaveLength(1);
    peer.disconnect();
    b.disconnect();
  });

  it('G2: when the socket drops after the server stored a message, the resend stores nothing new', async () => {
    const { peer, conv, got } = await pair('uo-a', 'uo-b');
    const n = net();
    const b = clientFor(s, 'uo-b', { net: n });
    await b.connect();
    const svc = s.app.services.messages;
    const orig = svc.send.bind(svc);
    let calls = 0;
    svc.send = async (actor, input) => {
      calls++;
      const stored = await orig(actor, input);
      // The answer is lost: the outcome is unknown to the client.
      if (calls === 1) n.kill();
      return stored;
    };
    try {
      const m = await b.chat.send({ conversationId: conv.id, text: 'unknown outcome' });
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(m.seq).toBe(1);
    } finally {
      svc.send = orig;
    }
    await until(() => got().length >= 1);
    await sleep(200);
    expect(got().map((x) => x.text)).toEqual(['unknown outcome']);
    expect((await peer.chat.history({ conversationId: conv.id })).messages).toHaveLength(1);
    peer.disconnect();
    b.disconnect();
  });

  it('G2: sending the same clientId 3 times stores one message', async () => {
    const { peer, conv } = await pair('same-a', 'same-b');
    const b = clientFor(s, 'same-b');
    await b.connect();
    const clientId = newClientId();
    const concurrent = await Promise.all([1, 2].map(() => b.chat.send({ conversationId: conv.id, clientId, text: 'once' })));
    const again = await b.chat.send({ conversationId: conv.id, clientId, text: 'once' });
    expect(new Set([...concurrent, again].map((m) => m.id)).size).toBe(1);
    expect(again.clientId).toBe(clientId);
    expect((await peer.chat.history({ conversationId: conv.id })).messages).toHaveLength(1);
    peer.disconnect();
    b.disconnect();
  });

  it('G2: queued messages survive an app restart and are sent once, in order, by the next run', async () => {
    const { peer, conv, got } = await pair('rst-a', 'rst-b');
    const storage = memoryStorage();
    const n1 = net();
    n1.open = false;
    const b1 = clientFor(s, 'rst-b', { net: n1, storage });
    void b1.connect().catch(() => {});
    for (const t of ['first', 'second', 'third']) void b1.chat.send({ conversationId: conv.id, text: t });
    await until(() => JSON.parse(storage.data.get('sohbet:outbox') ?? '[]').length === 3);
    b1.disconnect();
    const b2 = clientFor(s, 'rst-b', { storage });
    await b2.restored;
    expect(b2.outbox.items.map((i) => [i.text, i.state])).toEqual([['first', 'pending'], ['second', 'pending'], ['third', 'pending']]);
    await b2.connect();
    await until(() => b2.outbox.items.length === 0 && got().length === 3);
    await sleep(200);
    expect(got().map((m) => [m.text, m.seq])).toEqual([['first', 1], ['second', 2], ['third', 3]]);
    expect(JSON.parse(storage.data.get('sohbet:outbox')!)).toEqual([]);
    peer.disconnect();
    b2.disconnect();
  });

  it('emits outbox on every change: pending → sending → gone', async () => {
    const { peer, conv } = await pair('ev-a', 'ev-b');
    const b = clientFor(s, 'ev-b');
    await b.connect();
    const changes = record<readonly OutboxItem[]>((f) => b.on('outbox', f));
    const sent = record<MessageDTO>((f) => b.on('sent', f));
    await b.chat.send({ conversationId: conv.id, text: 'watch me' });
    expect(changes.map((items) => items.map((i) => i.state).join(','))).toEqual(['pending', 'sending', '']);
    expect(sent.map((m) => m.text)).toEqual(['watch me']);
    peer.disconnect();
    b.disconnect();
  });

  it('typed refusals (chat.too_long, chat.blocked, chat.not_member) mark the item failed and reject with SohbetError; retry and discard', async () => {
    const { peer, conv } = await pair('ref-a', 'ref-b');
    const b = clientFor(s, 'ref-b');
    await b.connect();
    const tooLong = await b.chat.send({ conversationId: conv.id, text: 'x'.repeat(4001) }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(SohbetError);
    expect(tooLong).toMatchObject({ code: 'chat.too_long' });
    await peer.users.block('ref-b');
    const blocked = await b.chat.send({ conversationId: conv.id, text: 'hello?' }).catch((e: unknown) => e);
    expect(blocked).toMatchObject({ code: 'chat.blocked' });
    await s.token('ref-c');
    const foreign = await peer.chat.openDirect({ userId: 'ref-c' });
    const notMember = await b.chat.send({ conversationId: foreign.id, text: 'intruder' }).catch((e: unknown) => e);
    expect(notMember).toMatchObject({ code: 'chat.not_member' });
    expect(b.outbox.items.map((i) => [i.state, i.error])).toEqual([
      ['failed', 'chat.too_long'],
      ['failed', 'chat.blocked'],
      ['failed', 'chat.not_member'],
    ]);
    // Unblocked, the failed message goes through on retry, with its original clientId.
    await peer.users.unblock('ref-b');
    const blockedItem = b.outbox.items[1]!;
    const m = await b.outbox.retry(blockedItem.clientId);
    expect(m).toMatchObject({ text: 'hello?', clientId: blockedItem.clientId });
    expect(b.outbox.discard(b.outbox.items[0]!.clientId)).toBe(true);
    expect(b.outbox.items.map((i) => i.error)).toEqual(['chat.not_member']);
    expect(b.outbox.discard('no-such-item')).toBe(false);
    peer.disconnect();
    b.disconnect();
  });
});
