import { beforeAll, describe, expect, it } from 'vitest';
import { and, asc, eq } from 'drizzle-orm';
import { conversations, members, messages, supportChats, supportDecisions, supportOperators, users } from '../src/db/schema.ts';
import { routingRepo as repo } from '../src/support/support-routing.repo.ts';
import { loadOf } from '../src/support/support.views.ts';
import { dbKinds, useTestDatabase } from './harness.ts';

/**
 * The support routing hot path reads and writes with plain SQL (support-routing.repo.ts); these
 * tests pin it to what Drizzle's builder returns for the same rows, so a column added to
 * `support_chats` / `support_operators` or a driver difference (PGlite vs node-postgres) cannot
 * silently change a row, and check the conditions of the one-statement move (G5).
 */
describe.each(dbKinds)('support routing repo on %s', (kind) => {
  const { db } = useTestDatabase(kind);
  const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s, 567));
  const drizzleChat = async (id: string) => (await db().select().from(supportChats).where(eq(supportChats.id, id)))[0]!;
  const drizzleOp = async (id: string) => (await db().select().from(supportOperators).where(eq(supportOperators.userId, id)))[0]!;
  beforeAll(async () => {
    await db().insert(users).values([
      { id: 'cust', name: 'Customer "C"', avatarUrl: 'https://x/c.png' },
      { id: 'op1', name: 'Operator One' },
      { id: 'op2', name: 'Operator Two' },
    ]);
    await db().insert(conversations).values(['sconv-full', 'sconv-min', 'sconv-new'].map((id) => ({ id, kind: 'group' as const, directKey: null })));
    await db().insert(supportOperators).values([
      { userId: 'op1', status: 'available', maxChats: 1, activeChats: 0, topics: ['order', 'pay "x"'], lastAssignedAt: at(1), seenAt: at(2), updatedAt: at(3) },
      { userId: 'op2', status: 'away', maxChats: 3, activeChats: 2, topics: [], disconnectedAt: at(4), updatedAt: at(5) },
    ]);
  });

  it('reads a chat with every column set exactly as Drizzle does (chat, openChat, by conversation, with people, routing queue)', async () => {
    await db().insert(supportChats).values({
      id: 's-full', conversationId: 'sconv-full', customerId: 'cust', topic: 'order', priority: 'urgent', state: 'queued', operatorId: 'op2', offeredTo: 'op1',
      offerExpiresAt: at(6), declinedBy: ['op2', 'we,ird "one"'], context: { type: 'order', id: 'o-1', title: 'Ä order', nested: { n: 1.5 } }, firstMessage: 'help "me"\n',
      queuedAt: at(7), assignedAt: at(8), firstResponseAt: at(9), resolvedAt: at(10), csatScore: 4, csatComment: 'ok', csatAt: at(11), lastActivityAt: at(12),
      skippedBy: ['op1'], slaWaitWarnedAt: at(13), slaResponseWarnedAt: at(14), version: 9, createdAt: at(15),
    });
    await db().insert(supportChats).values({ id: 's-min', conversationId: 'sconv-min', customerId: 'cust', topic: 'pay', firstMessage: 'hi', queuedAt: at(16), state: 'resolved' });
    for (const id of ['s-full', 's-min']) {
      const viaDrizzle = await drizzleChat(id);
      const plain = (await repo.chat(db(), id))!;
      expect(Object.keys(plain).sort()).toEqual(Object.keys(viaDrizzle).sort());
      expect(plain).toEqual(viaDrizzle);
      expect(await repo.chatByConversation(db(), viaDrizzle.conversationId)).toEqual(viaDrizzle);
      const withPeople = (await repo.chatWithPeople(db(), id))!;
      expect(withPeople.chat).toEqual(viaDrizzle);
      expect(withPeople.people.get('cust')).toEqual({ id: 'cust', name: 'Customer "C"', avatarUrl: 'https://x/c.png' });
    }
    expect((await repo.chatWithPeople(db(), 's-full'))!.people.get('op2')).toEqual({ id: 'op2', name: 'Operator Two', avatarUrl: null });
    expect(await repo.openChat(db(), 'cust', 'order')).toEqual(await drizzleChat('s-full'));
    expect(await repo.openChat(db(), 'cust', 'pay')).toBeNull(); // resolved is not open
    expect(await repo.chat(db(), 'nope')).toBeNull();
    expect(await repo.chatWithPeople(db(), 'nope')).toBeNull();
    const view = await repo.routingView(db());
    expect(view.queue).toEqual([await drizzleChat('s-full')]);
  });

  it('routingView: every operator load as loadOf reads it, and the queue only when someone has room', async () => {
    const all = await db().select().from(supportOperators).orderBy(asc(supportOperators.userId));
    const view = await repo.routingView(db());
    expect(view.loads).toEqual(all.map(loadOf));
    await db().update(supportOperators).set({ status: 'away' }).where(eq(supportOperators.userId, 'op1'));
    expect((await repo.routingView(db())).queue).toBeNull(); // nobody can take anything: the queue is not read
    await db().update(supportOperators).set({ status: 'available' }).where(eq(supportOperators.userId, 'op1'));
    const targets = await repo.signalTargets(db());
    expect(targets.operators.sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual([{ userId: 'op1', topics: ['order', 'pay "x"'] }, { userId: 'op2', topics: [] }]);
    expect(targets.waiting).toEqual([{ customerId: 'cust', topic: 'order' }]);
  });

  it('insertChat stores a queued chat as Drizzle reads it, with the customer name; a second open chat for the topic is not stored', async () => {
    const row = { id: 's-new', conversationId: 'sconv-new', customerId: 'cust', topic: 'delivery', context: { type: 'listing', id: 'l-1' }, firstMessage: 'where?', queuedAt: at(20), createdAt: at(21) };
    const first = await repo.insertChat(db(), row);
    expect(first.chat).toEqual(await drizzleChat('s-new'));
    expect(first.chat).toMatchObject({ state: 'queued', priority: 'normal', version: 0, declinedBy: [], skippedBy: [], context: row.context });
    expect(first.people.get('cust')?.name).toBe('Customer "C"');
    const again = await repo.insertChat(db(), { ...row, id: 's-new-2' });
    expect(again.chat).toBeNull();
    expect(await repo.chat(db(), 's-new-2')).toBeNull();
  });

  it('G5: move applies only at the expected state and version, claims only an available connected operator with room, and records the decision only when it applies', async () => {
    const before = (await repo.chat(db(), 's-new'))!;
    const decision = { candidates: ['op1'], excluded: [{ operatorId: 'op2', reason: 'status_away' as const }], winner: 'op1' };
    const offer = { id: 's-new', from: ['queued'] as const, version: before.version, set: { state: 'offered' as const, offeredTo: 'op1', offerExpiresAt: at(30), skippedBy: ['x "y"'] }, claim: 'op1', decision: { kind: 'offer', decision }, now: at(31), people: ['op1'] };

    const stale = await repo.move(db(), { ...offer, version: before.version + 1 });
    expect(stale).toMatchObject({ chat: null, claimed: null });
    expect((await drizzleOp('op1')).activeChats).toBe(0); // nothing claimed
    expect(await db().select().from(supportDecisions).where(eq(supportDecisions.chatId, 's-new'))).toEqual([]);

    const moved = await repo.move(db(), offer);
    expect(moved.chat).toEqual(await drizzleChat('s-new'));
    expect(moved.chat).toMatchObject({ state: 'offered', offeredTo: 'op1', offerExpiresAt: at(30), skippedBy: ['x "y"'], version: before.version + 1 });
    expect(moved.claimed).toEqual(await drizzleOp('op1'));
    expect(moved.claimed).toMatchObject({ activeChats: 1, lastAssignedAt: at(31) });
    expect(moved.people.get('op1')?.name).toBe('Operator One');
    expect(moved.people.get('cust')?.name).toBe('Customer "C"');
    const stored = await db().select().from(supportDecisions).where(eq(supportDecisions.chatId, 's-new'));
    expect(stored.map((d) => ({ kind: d.kind, decision: typeof d.decision === 'string' ? JSON.parse(d.decision) : d.decision, createdAt: d.createdAt }))).toEqual([{ kind: 'offer', decision, createdAt: at(31) }]);

    // op1 is full now (1 of 1): a claim on another chat changes the chat but claims nothing (the caller rolls back).
    const full = await repo.move(db(), { id: 's-full', from: ['queued'], version: 9, set: { state: 'offered', offeredTo: 'op1' }, claim: 'op1', now: at(32), people: [] });
    expect(full.chat).not.toBeNull();
    expect(full.claimed).toBeNull();
    expect((await drizzleOp('op1')).activeChats).toBe(1);
    // op2 is away and disconnected: never claimed.
    const away = await repo.move(db(), { id: 's-full', from: ['offered'], version: 10, set: { state: 'offered' }, claim: 'op2', now: at(33), people: [] });
    expect(away.claimed).toBeNull();

    // claimFirst (an offer inside the start's transaction): a lost claim writes nothing at all.
    // (Without claimFirst the chat update above did apply: the caller is the one that rolls it back.)
    expect((await drizzleChat('s-full')).version).toBe(11);
    const lost = await repo.move(db(), { id: 's-full', from: ['offered'], version: 11, set: { offeredTo: 'op1' }, claim: 'op1', claimFirst: true, now: at(33), people: [] });
    expect(lost).toMatchObject({ chat: null, claimed: null });
    expect((await drizzleChat('s-full')).version).toBe(11);
    // Without a version, `offeredTo` pins the chat (accept): another operator's accept matches nothing.
    const other = await repo.move(db(), { id: 's-new', from: ['offered'], version: null, offeredTo: 'op2', set: { state: 'assigned', operatorId: 'op2' }, now: at(34), people: [] });
    expect(other.chat).toBeNull();
    expect((await drizzleChat('s-new')).state).toBe('offered');

    // Resolve releases the holder's slot; dates and nulls in the patch as Drizzle's set writes them.
    const resolved = await repo.move(db(), { id: 's-new', from: ['offered'], version: moved.chat!.version, set: { state: 'resolved', resolvedAt: at(34), offeredTo: null, offerExpiresAt: null }, release: 'op1', now: at(35), people: ['op1'] });
    expect(resolved.chat).toEqual(await drizzleChat('s-new'));
    expect(resolved.chat).toMatchObject({ state: 'resolved', resolvedAt: at(34), offeredTo: null, offerExpiresAt: null });
    expect(resolved.released).toEqual(await drizzleOp('op1'));
    expect(resolved.released).toMatchObject({ activeChats: 0, updatedAt: at(35) });

    // claimFirst with room: claim and chat change together.
    const fresh = await drizzleChat('s-full');
    const won = await repo.move(db(), { id: 's-full', from: ['offered'], version: fresh.version, set: { offeredTo: 'op1' }, claim: 'op1', claimFirst: true, decision: { kind: 'offer', decision }, now: at(36), people: [] });
    expect(won.chat).toEqual(await drizzleChat('s-full'));
    expect(won.claimed).toEqual(await drizzleOp('op1'));
    expect(won.claimed?.activeChats).toBe(1);
    expect(await db().select().from(supportDecisions).where(eq(supportDecisions.chatId, 's-full'))).toHaveLength(1);
  });

  it('G5: resolve reads, checks and resolves in one statement: a waiting chat by anyone (its offer slot freed), an owned one only by its owner', async () => {
    const decision = { candidates: [], excluded: [], winner: null, by: 'op2' };
    const offered = await drizzleChat('s-full'); // offered to op1, who holds a slot for it
    expect(offered).toMatchObject({ state: 'offered', offeredTo: 'op1' });
    expect(await repo.resolve(db(), { id: 'nope', by: 'op2', now: at(40), decision })).toMatchObject({ before: null, chat: null });
    const r = await repo.resolve(db(), { id: 's-full', by: 'op2', now: at(40), decision });
    expect(r.before).toEqual(offered);
    expect(r.chat).toEqual(await drizzleChat('s-full'));
    expect(r.chat).toMatchObject({ state: 'resolved', resolvedAt: at(40), offeredTo: null, offerExpiresAt: null, version: offered.version + 1 });
    expect(r.released).toEqual(await drizzleOp('op1'));
    expect(r.released?.activeChats).toBe(0);
    expect(r.people.get('op1')?.name).toBe('Operator One');
    const again = await repo.resolve(db(), { id: 's-full', by: 'op2', now: at(41), decision });
    expect(again.chat).toBeNull(); // already resolved: nothing changes
    expect(again.before?.version).toBe(offered.version + 1);

    await db().update(supportChats).set({ state: 'assigned', operatorId: 'op1', resolvedAt: null }).where(eq(supportChats.id, 's-full'));
    await db().update(supportOperators).set({ activeChats: 1 }).where(eq(supportOperators.userId, 'op1'));
    const notOwner = await repo.resolve(db(), { id: 's-full', by: 'op2', now: at(42), decision });
    expect(notOwner.chat).toBeNull();
    expect(notOwner.before).toMatchObject({ state: 'assigned', operatorId: 'op1' });
    expect((await drizzleOp('op1')).activeChats).toBe(1);
    const owner = await repo.resolve(db(), { id: 's-full', by: 'op1', now: at(43), decision });
    expect(owner.chat).toMatchObject({ state: 'resolved', operatorId: 'op1', resolvedAt: at(43) });
    expect(owner.released?.activeChats).toBe(0);
    const kinds = (await db().select().from(supportDecisions).where(eq(supportDecisions.chatId, 's-full'))).map((d) => d.kind);
    expect(kinds).toEqual(['offer', 'resolve', 'resolve']); // only the two that applied
  });

  it('addMemberListing adds a member once and lists every member after it', async () => {
    expect(await repo.addMemberListing(db(), 'sconv-new', 'cust')).toEqual(['cust']);
    expect((await repo.addMemberListing(db(), 'sconv-new', 'op1')).sort()).toEqual(['cust', 'op1']);
    expect((await repo.addMemberListing(db(), 'sconv-new', 'op1')).sort()).toEqual(['cust', 'op1']);
    const [m] = await db().select().from(members).where(and(eq(members.conversationId, 'sconv-new'), eq(members.userId, 'op1')));
    expect(m).toMatchObject({ role: 'member', joinedSeq: 0, lastReadSeq: 0, lastDeliveredSeq: 0, muted: false, archived: false });
  });
  it('insertStart stores conversation (last seq 1), queued chat, the customer as member read up to message 1 and message 1 in one statement, with the routing view; a second open chat for the topic stores nothing', async () => {
    const q = { id: 's-start', conversationId: 'sconv-start', customerId: 'cust', topic: 'billing', title: 'Support · billing', context: { type: 'order', id: 'o-9' }, firstMessage: 'help', at: at(50),
      message: { id: 'm-start', clientId: 'cid-start', text: 'help', redacted: true } };
    const r = await repo.insertStart(db(), q);
    expect(r.chat).toEqual(await drizzleChat('s-start'));
    expect(r.chat).toMatchObject({ state: 'queued', conversationId: 'sconv-start', queuedAt: at(50), context: q.context, version: 0 });
    expect(r.people.get('cust')?.name).toBe('Customer "C"');
    const [conv] = await db().select().from(conversations).where(eq(conversations.id, 'sconv-start'));
    expect(conv).toMatchObject({ kind: 'group', title: 'Support · billing', context: q.context, lastSeq: 1, lastMessageAt: at(50), createdBy: 'cust' });
    expect(r.conversationCreatedAt).toEqual(conv!.createdAt);
    expect(await db().select().from(members).where(eq(members.conversationId, 'sconv-start'))).toMatchObject([{ userId: 'cust', role: 'member', joinedSeq: 0, lastReadSeq: 1, lastDeliveredSeq: 1 }]);
    expect(await db().select({ seq: messages.seq, id: messages.id, clientId: messages.clientId, senderId: messages.senderId, kind: messages.kind, text: messages.text, redacted: messages.redacted, createdAt: messages.createdAt })
      .from(messages).where(eq(messages.conversationId, 'sconv-start'))).toEqual([{ seq: 1, id: 'm-start', clientId: 'cid-start', senderId: 'cust', kind: 'text', text: 'help', redacted: true, createdAt: at(50) }]);
    // The view is routingView's, with the new chat (which the statement's own reads cannot see) added to the queue.
    const view = await repo.routingView(db());
    expect(r.view!.loads).toEqual(view.loads);
    expect(r.view!.queue?.map((c) => c.id)).toEqual(view.queue?.map((c) => c.id));
    const again = await repo.insertStart(db(), { ...q, id: 's-start-2', conversationId: 'sconv-start-2', message: { ...q.message, id: 'm-2' } });
    expect(again.chat).toBeNull(); // the caller rolls back the conversation it did insert
    expect(again.conversationCreatedAt).not.toBeNull();
    expect(await db().select().from(messages).where(eq(messages.conversationId, 'sconv-start-2'))).toEqual([]);
  });

  it('G5: a claim over candidates takes the first available one with room, offers the chat to it and records it as the winner', async () => {
    await db().update(supportOperators).set({ status: 'available', disconnectedAt: null, activeChats: 3, maxChats: 3 }).where(eq(supportOperators.userId, 'op2'));
    await db().update(supportOperators).set({ status: 'available', disconnectedAt: null, activeChats: 0, maxChats: 1 }).where(eq(supportOperators.userId, 'op1'));
    const chat = (await repo.chat(db(), 's-start'))!;
    const decision = { candidates: ['op2', 'op1'], excluded: [], winner: 'op2' };
    const r = await repo.move(db(), { id: chat.id, from: ['queued'], version: chat.version, set: { state: 'offered', offeredTo: 'op2', offerExpiresAt: at(60) }, claim: 'op2', claimFirst: true, claimAny: ['op2', 'op1'], decision: { kind: 'offer', decision }, now: at(61), people: ['op2'] });
    expect(r.claimed).toMatchObject({ userId: 'op1', activeChats: 1 }); // op2 is full
    expect(r.chat).toEqual(await drizzleChat('s-start'));
    expect(r.chat).toMatchObject({ state: 'offered', offeredTo: 'op1', version: chat.version + 1 });
    expect(r.people.get('op1')?.name).toBe('Operator One');
    expect((await drizzleOp('op2')).activeChats).toBe(3);
    const [d] = await db().select().from(supportDecisions).where(eq(supportDecisions.chatId, 's-start'));
    expect(d!.decision).toMatchObject({ candidates: ['op2', 'op1'], winner: 'op1' });
    // Nobody has room: nothing is written.
    const none = await repo.move(db(), { id: chat.id, from: ['offered'], version: chat.version + 1, set: { offeredTo: 'op2' }, claim: 'op2', claimFirst: true, claimAny: ['op2', 'op1'], now: at(62), people: [] });
    expect(none).toMatchObject({ chat: null, claimed: null });
    expect((await drizzleChat('s-start')).version).toBe(chat.version + 1);
  });

  it('resolve stores its notice at the next seq in the same statement, named by the chat version after it, only when it applies', async () => {
    const decision = { candidates: [], excluded: [], winner: null, by: 'op1' };
    const notice = { id: 'm-res', code: 'support.resolved', text: 'Resolved' };
    const r = await repo.resolve(db(), { id: 's-start', by: 'op1', now: at(70), decision, notice });
    expect(r.chat).toMatchObject({ state: 'resolved' });
    expect(r.released).toMatchObject({ userId: 'op1', activeChats: 0 });
    expect(r.notice).toEqual({ seq: 2, clientId: `resolved-${'s-start'.slice(-20)}-${r.chat!.version}`, memberIds: ['cust'] });
    const [m] = await db().select().from(messages).where(and(eq(messages.conversationId, 'sconv-start'), eq(messages.seq, 2)));
    expect(m).toMatchObject({ id: 'm-res', senderId: null, kind: 'system', text: 'Resolved', payload: { type: 'notice', code: 'support.resolved', params: {} }, createdAt: at(70) });
    expect((await db().select().from(conversations).where(eq(conversations.id, 'sconv-start')))[0]).toMatchObject({ lastSeq: 2, lastMessageAt: at(70) });
    const again = await repo.resolve(db(), { id: 's-start', by: 'op1', now: at(71), decision, notice: { ...notice, id: 'm-res-2' } });
    expect(again).toMatchObject({ chat: null, notice: null });
    expect((await db().select().from(conversations).where(eq(conversations.id, 'sconv-start')))[0]!.lastSeq).toBe(2);
  });
});
