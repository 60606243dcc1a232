import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatStore } from '../src/store.ts';
import type { SohbetClient } from '../src/api.ts';
import { Emitter, type ClientEventMap } from '../src/events.ts';
import { clientFor, net, sleep, startTestServer, until, type TestServer } from './support.ts';

describe('chat store (the cache behind the hooks) against a real server', () => {
  let s: TestServer;
  // One user seeds 60 messages in a second: faster than the per-user message limit a person gets.
  beforeAll(async () => (s = await startTestServer({ env: { RATE_LIMITS: 'message=1000/1m' } })));
  afterAll(() => s.close());

  it('G4: keeps the conversation list live: new conversations appear, messages reorder, unread = lastSeq − lastReadSeq', async () => {
    const me = clientFor(s, 'cl-me');
    const x = clientFor(s, 'cl-x');
    const y = clientFor(s, 'cl-y');
    await Promise.all([me.connect(), x.connect(), y.connect()]);
    const cx = await me.chat.openDirect({ userId: 'cl-x' });
    const store = new ChatStore(me);
    const stop = store.watchConversations();
    await until(() => !store.conversations().loading);
    expect(store.conversations().conversations.map((c) => c.id)).toEqual([cx.id]);
    // Someone else opens a conversation with me: it appears without a reload.
    const cy = await y.chat.openDirect({ userId: 'cl-me' });
    await until(() => store.conversations().conversations.length === 2);
    await x.chat.send({ conversationId: cx.id, text: 'x1' });
    await x.chat.send({ conversationId: cx.id, text: 'x2' });
    await until(() => store.conversations().conversations[0]?.unreadCount === 2);
    expect(store.conversations().conversations.map((c) => c.id)).toEqual([cx.id, cy.id]);
    await y.chat.send({ conversationId: cy.id, text: 'y1' });
    await until(() => store.conversations().conversations[0]?.id === cy.id);
    const list = store.conversations().conversations;
    expect(list.map((c) => [c.lastMessage?.text, c.unreadCount])).toEqual([['y1', 1], ['x2', 2]]);
    // Reading in another place (here: the API) clears the count via the receipt event.
    await me.chat.markRead({ conversationId: cx.id, seq: 2 });
    await until(() => store.conversations().conversations.find((c) => c.id === cx.id)?.unreadCount === 0);
    // My own message does not count as unread, and the list agrees with the server.
    await me.chat.send({ conversationId: cy.id, text: 'mine' });
    await until(() => store.conversations().conversations[0]?.lastMessage?.text === 'mine');
    expect(store.conversations().conversations[0]!.unreadCount).toBe(0);
    const server = await me.chat.list();
    expect(store.conversations().conversations.map((c) => [c.id, c.unreadCount, c.lastSeq])).toEqual(server.map((c) => [c.id, c.unreadCount, c.lastSeq]));
    // Archiving moves it to the archived list.
    await me.chat.setArchived({ conversationId: cy.id, archived: true });
    await until(() => store.conversations().conversations.length === 1);
    expect(store.conversations(true).conversations.map((c) => c.id)).toEqual([cy.id]);
    stop();
    store.dispose();
    for (const c of [me, x, y]) c.disconnect();
  });

  it('G1: a message window pages back by seq and stays live (new, edited, deleted, reactions)', async () => {
    const me = clientFor(s, 'mw-me');
    const x = clientFor(s, 'mw-x');
    await Promise.all([me.connect(), x.connect()]);
    const conv = await x.chat.openDirect({ userId: 'mw-me' });
    for (let i = 1; i <= 60; i++) await x.chat.send({ conversationId: conv.id, text: `m${i}` });
    const store = new ChatStore(me);
    store.openThread(conv.id);
    await until(() => !store.messages(conv.id).loading);
    let v = store.messages(conv.id);
    expect(v.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
    expect(v.hasMore).toBe(true);
    await v.loadOlder();
    v = store.messages(conv.id);
    expect(v.messages.map((m) => m.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(v.hasMore).toBe(false);
    const before = store.messages(conv.id);
    expect(store.messages(conv.id)).toBe(before); // same identity while nothing changed
    await x.chat.send({ conversationId: conv.id, text: 'live' });
    await until(() => store.messages(conv.id).messages.length === 61);
    await x.chat.edit({ conversationId: conv.id, seq: 61, text: 'edited' });
    await x.chat.react({ conversationId: conv.id, seq: 60, emoji: '👍' });
    await x.chat.delete({ conversationId: conv.id, seq: 59 });
    await me.chat.delete({ conversationId: conv.id, seq: 58, scope: 'me' });
    await until(() => store.messages(conv.id).messages.length === 60 && store.messages(conv.id).messages.at(-1)?.text === 'edited');
    await until(() => store.messages(conv.id).messages.some((m) => m.seq === 59 && m.deletedAt !== null));
    await until(() => (store.messages(conv.id).messages.find((m) => m.seq === 60)?.reactions.length ?? 0) === 1);
    const tail = store.messages(conv.id).messages.slice(-3);
    expect(tail.map((m) => [m.seq, m.text, m.deletedAt !== null, m.reactions.map((r) => r.emoji)])).toEqual([
      [59, null, true, []],
      [60, 'm60', false, ['👍']],
      [61, 'edited', false, []],
    ]);
    store.dispose();
    me.disconnect();
    x.disconnect();
  });

  it('shows outbox items after the stored messages, then replaces them by the stored message without a duplicate', async () => {
    const n = net();
    const me = clientFor(s, 'ob-me', { net: n });
    const x = clientFor(s, 'ob-x');
    await Promise.all([me.connect(), x.connect()]);
    const conv = await x.chat.openDirect({ userId: 'ob-me' });
    await x.chat.send({ conversationId: conv.id, text: 'hi' });
    const store = new ChatStore(me);
    store.openThread(conv.id);
    await until(() => store.messages(conv.id).messages.length === 1);
    n.open = false;
    n.kill();
    await until(() => me.status !== 'connected');
    const sending = me.chat.send({ conversationId: conv.id, text: 'offline reply', replyToSeq: 1 });
    await until(() => store.messages(conv.id).messages.length === 2);
    const pending = store.messages(conv.id).messages[1]!;
    expect(pending).toMatchObject({ text: 'offline reply', localState: 'pending', senderId: 'ob-me', replyTo: { seq: 1, text: 'hi' } });
    n.open = true;
    await sending;
    await until(() => store.messages(conv.id).messages.every((m) => !m.localState));
    await sleep(150);
    expect(store.messages(conv.id).messages.map((m) => [m.seq, m.text])).toEqual([[1, 'hi'], [2, 'offline reply']]);
    store.dispose();
    me.disconnect();
    x.disconnect();
  });
});

describe('chat store typing (unit, fake client)', () => {
  function fakeClient() {
    const e = new Emitter<ClientEventMap>();
    const client = { status: 'connected', user: { id: 'me' }, outbox: { items: [] }, on: e.on.bind(e) } as unknown as SohbetClient;
    return { client, e };
  }

  it('lists typists until their expiresInMs passes, and drops one whose message arrives', async () => {
    const { client, e } = fakeClient();
    const store = new ChatStore(client);
    let notified = 0;
    store.subscribe(() => notified++);
    e.emit('typing', { conversationId: 'c1', userId: 'u1', expiresInMs: 60 });
    e.emit('typing', { conversationId: 'c1', userId: 'u2', expiresInMs: 1000 });
    expect(store.typing('c1')).toEqual(['u1', 'u2']);
    expect(store.typing('c2')).toEqual([]);
    await sleep(100);
    expect(store.typing('c1')).toEqual(['u2']);
    e.emit('message', { conversationId: 'c1', seq: 1, senderId: 'u2' } as never);
    expect(store.typing('c1')).toEqual([]);
    expect(notified).toBeGreaterThanOrEqual(4);
    store.dispose();
  });
});
