import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { rows, sql } from '../src/db/db.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';

const listing = { type: 'listing' as const, id: 'listing-1', title: 'iPhone 13 Pro', price: { amount: 1450, currency: 'AZN' } };
let n = 0;
const cid = () => `client-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;

describe.each(dbKinds)('chat API on %s', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(testConfig({ ...db.env, MESSAGE_EDIT_WINDOW_SECONDS: '60' }), { database: db.database });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });
  const as = (u: string) => callerFor(app.services, u);

  it('opens exactly one direct conversation per user pair and listing, whoever opens it', async () => {
    const buyer = await as('buyer1');
    const seller = await as('seller1');
    const a = await buyer.chat.openDirect({ userId: 'seller1', context: listing });
    const b = await seller.chat.openDirect({ userId: 'buyer1', context: listing });
    const concurrent = await Promise.all([1, 2, 3].map(() => buyer.chat.openDirect({ userId: 'seller1', context: listing })));
    const other = await buyer.chat.openDirect({ userId: 'seller1', context: { ...listing, id: 'listing-2' } });
    expect(b.id).toBe(a.id);
    expect(concurrent.map((c) => c.id)).toEqual([a.id, a.id, a.id]);
    expect(other.id).not.toBe(a.id);
    expect(a.context).toMatchObject({ id: 'listing-1', title: 'iPhone 13 Pro' });
    expect(a.members.map((m) => m.userId).sort()).toEqual(['buyer1', 'seller1']);
  });

  it('G1: assigns gap-free per-conversation seqs under concurrent sends', async () => {
    const a = await as('g1a');
    await as('g1b');
    const conv = await a.chat.openDirect({ userId: 'g1b' });
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => a.chat.send({ conversationId: conv.id, clientId: cid(), text: `m${i}` })));
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const page = await a.chat.history({ conversationId: conv.id, limit: 100 });
    expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('G2: returns the original message when the same clientId is sent three times, even concurrently', async () => {
    const a = await as('g2a');
    await as('g2b');
    const conv = await a.chat.openDirect({ userId: 'g2b' });
    const id = cid();
    const results = await Promise.all([1, 2, 3].map(() => a.chat.send({ conversationId: conv.id, clientId: id, text: 'once' })));
    const again = await a.chat.send({ conversationId: conv.id, clientId: id, text: 'once' });
    expect(new Set([...results, again].map((m) => m.id)).size).toBe(1);
    const page = await a.chat.history({ conversationId: conv.id });
    expect(page.messages).toHaveLength(1);
  });

  it('G4: unread count is last_seq − last_read_seq and follows read receipts', async () => {
    const a = await as('g4a');
    const b = await as('g4b');
    const conv = await a.chat.openDirect({ userId: 'g4b' });
    for (let i = 0; i < 3; i++) await a.chat.send({ conversationId: conv.id, clientId: cid(), text: `hi ${i}` });
    const unread = async () => (await b.chat.list()).find((c) => c.id === conv.id)!.unreadCount;
    expect(await unread()).toBe(3);
    await b.chat.markRead({ conversationId: conv.id, seq: 2 });
    expect(await unread()).toBe(1);
    await b.chat.markRead({ conversationId: conv.id, seq: 1 }); // never goes backwards
    expect(await unread()).toBe(1);
    await b.chat.markRead({ conversationId: conv.id, seq: 999 }); // clamped to the last message
    expect(await unread()).toBe(0);
    expect((await a.chat.get({ conversationId: conv.id })).members.find((m) => m.userId === 'g4b')!.lastReadSeq).toBe(3);
    expect((await a.chat.list()).find((c) => c.id === conv.id)!.unreadCount).toBe(0);
  });

  it('G6: in a burst of concurrent sends (one group commit), each bad message fails alone with its own code', async () => {
    const a = await as('burst-a');
    const b = await as('burst-b');
    const outsider = await as('burst-out');
    const conv = await a.chat.openDirect({ userId: 'burst-b' });
    const blockedConv = await outsider.chat.openDirect({ userId: 'burst-b' });
    await b.users.block({ userId: 'burst-out' });
    const dup = cid();
    const attempts = [
      a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'ok 1' }),
      a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'x'.repeat(4001) }),
      outsider.chat.send({ conversationId: conv.id, clientId: cid(), text: 'not a member' }),
      outsider.chat.send({ conversationId: blockedConv.id, clientId: cid(), text: 'blocked' }),
      a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'bad reply', replyToSeq: 999 }),
      a.chat.send({ conversationId: conv.id, clientId: dup, text: 'dup' }),
      a.chat.send({ conversationId: conv.id, clientId: dup, text: 'dup' }),
      b.chat.send({ conversationId: conv.id, clientId: dup, text: 'same id, other sender' }),
      b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'ok 2' }),
    ];
    const settled = await Promise.allSettled(attempts);
    const codes = await Promise.all(attempts.map((p) => codeOf(p)));
    expect(codes).toEqual(['no error', 'chat.too_long', 'chat.not_member', 'chat.blocked', 'chat.message_not_found', 'no error', 'no error', 'chat.client_id_conflict', 'no error']);
    const ok = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const page = await a.chat.history({ conversationId: conv.id });
    // Three messages stored (ok 1, dup once, ok 2), gap-free; b's reuse of a's clientId is refused.
    expect(page.messages.map((m) => m.text).sort()).toEqual(['dup', 'ok 1', 'ok 2']);
    expect(page.messages.map((m) => m.seq)).toEqual(page.messages.map((_, i) => i + 1));
    expect(new Set(ok.filter((m) => m.text === 'dup').map((m) => m.id)).size).toBe(1);
    expect((await b.chat.history({ conversationId: blockedConv.id })).messages).toEqual([]);
  });

  it('lists conversations with the last message, newest activity first', async () => {
    const a = await as('lista');
    await as('listb');
    await as('listc');
    const c1 = await a.chat.openDirect({ userId: 'listb' });
    const c2 = await a.chat.openDirect({ userId: 'listc' });
    await a.chat.send({ conversationId: c1.id, clientId: cid(), text: 'first' });
    await a.chat.send({ conversationId: c2.id, clientId: cid(), text: 'second' });
    await a.chat.send({ conversationId: c1.id, clientId: cid(), text: 'third' });
    const list = await a.chat.list();
    expect(list.slice(0, 2).map((c) => c.id)).toEqual([c1.id, c2.id]);
    expect(list[0]!.lastMessage?.text).toBe('third');
    expect(list[0]!.peerId).toBe('listb');
  });

  it('G6: a non-member gets chat.not_member whether or not the conversation exists, and learns nothing', async () => {
    const a = await as('nm-a');
    await as('nm-b');
    const outsider = await as('nm-out');
    const conv = await a.chat.openDirect({ userId: 'nm-b' });
    for (const id of [conv.id, 'c_doesnotexist']) {
      expect(await codeOf(outsider.chat.history({ conversationId: id }))).toBe('chat.not_member');
      expect(await codeOf(outsider.chat.send({ conversationId: id, clientId: cid(), text: 'x' }))).toBe('chat.not_member');
      expect(await codeOf(outsider.chat.get({ conversationId: id }))).toBe('chat.not_member');
      expect(await codeOf(outsider.chat.markRead({ conversationId: id, seq: 1 }))).toBe('chat.not_member');
      expect(await codeOf(outsider.chat.typing({ conversationId: id }))).toBe('chat.not_member');
    }
    expect((await a.chat.history({ conversationId: conv.id })).messages).toHaveLength(0);
  });

  it('G6: bad input gets a typed error and stores nothing', async () => {
    const a = await as('bad-a');
    await as('bad-b');
    const conv = await a.chat.openDirect({ userId: 'bad-b' });
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'x'.repeat(4001) }))).toBe('chat.too_long');
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: cid(), text: '   ' }))).toBe('input.invalid');
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: 'short', text: 'x' }))).toBe('input.invalid');
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'x', replyToSeq: 42 }))).toBe('chat.message_not_found');
    expect(await codeOf(a.chat.openDirect({ userId: 'bad-a' }))).toBe('chat.self_conversation');
    expect(await codeOf(a.chat.openDirect({ userId: 'nobody-here' }))).toBe('user.not_found');
    // A 4,000-character message of emoji (code points) is accepted.
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: '😀'.repeat(4000) });
    const page = await a.chat.history({ conversationId: conv.id });
    expect(page.messages.map((m) => m.seq)).toEqual([1]);
    const [{ last_seq }] = await rows<{ last_seq: number }>(app.services.database.db, sql`select last_seq from conversations where id = ${conv.id}`);
    expect(Number(last_seq)).toBe(1);
  });

  it('a blocked user cannot message you; unblocking lets them again', async () => {
    const a = await as('blk-a');
    const b = await as('blk-b');
    const conv = await a.chat.openDirect({ userId: 'blk-b' });
    const before = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hello' });
    await b.users.block({ userId: 'blk-a' });
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'buy now' }))).toBe('chat.blocked');
    // Nor turn an old message into a new one: an edit reaches the peer like a message does.
    expect(await codeOf(a.chat.edit({ conversationId: conv.id, seq: before.seq, text: 'buy now' }))).toBe('chat.blocked');
    // Taking back what you wrote stays possible.
    await a.chat.delete({ conversationId: conv.id, seq: before.seq, scope: 'everyone' });
    await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'I can still write' });
    expect((await b.chat.get({ conversationId: conv.id })).blocked).toBe(true);
    expect(await b.users.blocked()).toEqual(['blk-a']);
    await b.users.unblock({ userId: 'blk-a' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'thanks' });
    expect((await b.chat.history({ conversationId: conv.id })).messages.map((m) => m.text)).toEqual([null, 'I can still write', 'thanks']);
  });

  it('reports a user with the conversation attached as evidence that survives a later delete', async () => {
    const buyer = await as('rp-buyer');
    const scammer = await as('rp-scam');
    const outsider = await as('rp-out');
    const conv = await buyer.chat.openDirect({ userId: 'rp-scam' });
    const m = await scammer.chat.send({ conversationId: conv.id, clientId: cid(), text: 'Pay first to my card 4169...' });
    expect(await codeOf(buyer.users.report({ userId: 'rp-buyer', reason: 'scam' }))).toBe('input.invalid');
    expect(await codeOf(buyer.users.report({ userId: 'rp-scam', reason: 'bogus' as 'scam' }))).toBe('input.invalid');
    expect(await codeOf(outsider.users.report({ userId: 'rp-scam', reason: 'scam', conversationId: conv.id }))).toBe('chat.not_member');
    const { reportId } = await buyer.users.report({ userId: 'rp-scam', reason: 'scam', conversationId: conv.id, note: 'asked for prepayment' });
    await scammer.chat.delete({ conversationId: conv.id, seq: m.seq, scope: 'everyone' });
    const [row] = await rows<{ reason: string; note: string; evidence: unknown; status: string }>(app.services.database.db, sql`select reason, note, evidence, status from reports where id = ${reportId}`);
    expect(row).toMatchObject({ reason: 'scam', note: 'asked for prepayment', status: 'open' });
    const evidence = (typeof row!.evidence === 'string' ? JSON.parse(row!.evidence) : row!.evidence) as Array<{ seq: number; text: string }>;
    expect(evidence.map((e) => [e.seq, e.text])).toEqual([[1, 'Pay first to my card 4169...']]);
    expect((await rows(app.services.database.db, sql`select 1 from reports where reporter_id = 'rp-out'`)).length).toBe(0);
  });

  it('edits within the window only, by the author only', async () => {
    const a = await as('ed-a');
    const b = await as('ed-b');
    const conv = await a.chat.openDirect({ userId: 'ed-b' });
    const m = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'price 100' });
    const edited = await a.chat.edit({ conversationId: conv.id, seq: m.seq, text: 'price 90' });
    expect(edited.text).toBe('price 90');
    expect(edited.editedAt).not.toBeNull();
    expect(await codeOf(b.chat.edit({ conversationId: conv.id, seq: m.seq, text: 'hacked' }))).toBe('chat.not_author');
    await app.services.database.db.execute(sql`update messages set created_at = now() - interval '2 minutes' where conversation_id = ${conv.id}`);
    expect(await codeOf(a.chat.edit({ conversationId: conv.id, seq: m.seq, text: 'late' }))).toBe('chat.edit_window_passed');
    expect((await b.chat.history({ conversationId: conv.id })).messages[0]!.text).toBe('price 90');
  });

  it('deletes for everyone (text gone for both) and for me (hidden only for me)', async () => {
    const a = await as('del-a');
    const b = await as('del-b');
    const conv = await a.chat.openDirect({ userId: 'del-b' });
    const m1 = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'oops' });
    const m2 = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'keep' });
    expect(await codeOf(b.chat.delete({ conversationId: conv.id, seq: m1.seq, scope: 'everyone' }))).toBe('chat.not_author');
    await a.chat.delete({ conversationId: conv.id, seq: m1.seq, scope: 'everyone' });
    await b.chat.delete({ conversationId: conv.id, seq: m2.seq, scope: 'me' });
    const forB = (await b.chat.history({ conversationId: conv.id })).messages;
    const forA = (await a.chat.history({ conversationId: conv.id })).messages;
    expect(forB.map((m) => [m.seq, m.text, m.deletedAt !== null])).toEqual([[1, null, true]]);
    expect(forA.map((m) => [m.seq, m.text])).toEqual([[1, null], [2, 'keep']]);
  });

  it('reactions toggle per user and emoji and come back with history', async () => {
    const a = await as('re-a');
    const b = await as('re-b');
    const conv = await a.chat.openDirect({ userId: 're-b' });
    const m = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'deal?' });
    await b.chat.react({ conversationId: conv.id, seq: m.seq, emoji: '👍', on: true });
    await b.chat.react({ conversationId: conv.id, seq: m.seq, emoji: '👍', on: true });
    await a.chat.react({ conversationId: conv.id, seq: m.seq, emoji: '👍', on: true });
    await a.chat.react({ conversationId: conv.id, seq: m.seq, emoji: '❤️', on: true });
    await a.chat.react({ conversationId: conv.id, seq: m.seq, emoji: '❤️', on: false });
    const [msg] = (await a.chat.history({ conversationId: conv.id })).messages;
    expect(msg!.reactions).toEqual([{ emoji: '👍', count: 2, userIds: ['re-b', 're-a'] }]);
  });

  it('replies carry a preview and forwards are marked as forwarded', async () => {
    const a = await as('fw-a');
    const b = await as('fw-b');
    await as('fw-c');
    const ab = await a.chat.openDirect({ userId: 'fw-b' });
    const ac = await a.chat.openDirect({ userId: 'fw-c' });
    const q = await b.chat.send({ conversationId: ab.id, clientId: cid(), text: 'Is it still for sale?' });
    const reply = await a.chat.send({ conversationId: ab.id, clientId: cid(), text: 'Yes', replyToSeq: q.seq });
    expect(reply.replyTo).toEqual({ seq: q.seq, senderId: 'fw-b', text: 'Is it still for sale?' });
    const fwd = await a.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: ab.id, seq: q.seq } });
    expect(fwd).toMatchObject({ forwarded: true, text: 'Is it still for sale?', senderId: 'fw-a' });
    // You cannot forward from a conversation you are not in.
    const c = await callerFor(app.services, 'fw-c');
    expect(await codeOf(c.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: ab.id, seq: q.seq } }))).toBe('chat.not_member');
  });

  it('pages history by seq before and after', async () => {
    const a = await as('pg-a');
    await as('pg-b');
    const conv = await a.chat.openDirect({ userId: 'pg-b' });
    for (let i = 1; i <= 25; i++) await a.chat.send({ conversationId: conv.id, clientId: cid(), text: `m${i}` });
    const last = await a.chat.history({ conversationId: conv.id, limit: 10 });
    expect(last.messages.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(last.hasMore).toBe(true);
    const older = await a.chat.history({ conversationId: conv.id, before: 16, limit: 10 });
    expect(older.messages.map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await a.chat.history({ conversationId: conv.id, before: 6, limit: 10 });
    expect(oldest.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.hasMore).toBe(false);
    const after = await a.chat.history({ conversationId: conv.id, after: 20, limit: 3 });
    expect(after.messages.map((m) => m.seq)).toEqual([21, 22, 23]);
    expect(after.hasMore).toBe(true);
    const tail = await a.chat.history({ conversationId: conv.id, after: 23, limit: 3 });
    expect(tail.messages.map((m) => m.seq)).toEqual([24, 25]);
    expect(tail.hasMore).toBe(false);
  });

  it('searches your own conversations with full-text search, in Azerbaijani and English', async () => {
    const a = await as('se-a');
    const b = await as('se-b');
    const outsider = await as('se-out');
    const conv = await a.chat.openDirect({ userId: 'se-b' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'Telefon hələ satılır?' });
    await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'The phone is still available' });
    expect((await a.chat.search({ query: 'satılır' })).map((m) => m.text)).toEqual(['Telefon hələ satılır?']);
    expect((await b.chat.search({ query: 'phone available' })).map((m) => m.text)).toEqual(['The phone is still available']);
    expect(await outsider.chat.search({ query: 'phone' })).toEqual([]);
  });

  it('groups: members with roles, admins add and remove, newcomers see history from when they joined', async () => {
    const owner = await as('gr-owner');
    const m1 = await as('gr-m1');
    await as('gr-m2');
    const g = await owner.chat.createGroup({ title: 'Sellers of Baku', memberIds: ['gr-m1'] });
    expect(g.members.find((m) => m.userId === 'gr-owner')!.role).toBe('owner');
    await owner.chat.send({ conversationId: g.id, clientId: cid(), text: 'before' });
    expect(await codeOf(m1.chat.addMembers({ conversationId: g.id, userIds: ['gr-m2'] }))).toBe('chat.not_admin');
    await owner.chat.addMembers({ conversationId: g.id, userIds: ['gr-m2'] });
    await m1.chat.send({ conversationId: g.id, clientId: cid(), text: 'after' });
    const m2 = await callerFor(app.services, 'gr-m2');
    expect((await m2.chat.history({ conversationId: g.id })).messages.map((m) => m.text)).toEqual(['after']);
    await m1.chat.markRead({ conversationId: g.id, seq: 2 });
    await m2.chat.markRead({ conversationId: g.id, seq: 2 });
    const view = await owner.chat.get({ conversationId: g.id });
    // Read receipts in groups: each member's own mark; the owner has not read m1's message yet.
    expect(Object.fromEntries(view.members.map((m) => [m.userId, m.lastReadSeq]))).toEqual({ 'gr-owner': 1, 'gr-m1': 2, 'gr-m2': 2 });
    await m1.chat.removeMember({ conversationId: g.id, userId: 'gr-m1' });
    expect(await codeOf(m1.chat.history({ conversationId: g.id }))).toBe('chat.not_member');
  });

  it('mute and archive are per member', async () => {
    const a = await as('ma-a');
    const b = await as('ma-b');
    const conv = await a.chat.openDirect({ userId: 'ma-b' });
    await a.chat.setMuted({ conversationId: conv.id, muted: true });
    await a.chat.setArchived({ conversationId: conv.id, archived: true });
    expect((await a.chat.list()).some((c) => c.id === conv.id)).toBe(false);
    expect((await a.chat.list({ archived: true, limit: 50 })).find((c) => c.id === conv.id)).toMatchObject({ muted: true, archived: true });
    expect((await b.chat.list()).find((c) => c.id === conv.id)).toMatchObject({ muted: false, archived: false });
  });
});
