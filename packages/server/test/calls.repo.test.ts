import { beforeAll, describe, expect, it } from 'vitest';
import { callsRepo as repo } from '../src/calls/calls.repo.ts';
import { blocks, calls, conversations, members, messages, userEvents, users } from '../src/db/schema.ts';
import { and, eq, sql } from 'drizzle-orm';
import type { Delivery } from '../src/realtime/bus.ts';
import { EventLog } from '../src/realtime/event-log.ts';
import { dbKinds, useTestDatabase } from './harness.ts';

/**
 * The calls hot path reads and writes with plain SQL (calls.repo.ts); these tests pin it to what
 * Drizzle's builder returns for the same rows, so a column added to `calls` or a driver difference
 * (PGlite vs node-postgres) cannot silently change a CallRow.
 */
describe.each(dbKinds)('calls repo on %s', (kind) => {
  const { db, database } = useTestDatabase(kind);
  beforeAll(async () => {
    await db().insert(users).values(['ra', 'rb', 'rc', 'rd'].map((id) => ({ id, name: id })));
    await db().insert(conversations).values([
      { id: 'rconv', kind: 'direct', directKey: 'ra|rb' },
      { id: 'rgroup', kind: 'group', directKey: null },
    ]);
    await db().insert(members).values([
      { conversationId: 'rconv', userId: 'ra' },
      { conversationId: 'rconv', userId: 'rb' },
      { conversationId: 'rgroup', userId: 'ra' },
      { conversationId: 'rgroup', userId: 'rc' },
    ]);
    await db().insert(blocks).values([{ blockerId: 'rb', blockedId: 'ra' }, { blockerId: 'rc', blockedId: 'rd' }]);
  });

  it('reads a call with every column set exactly as Drizzle does (get, startContext prior, update returning)', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s, 567));
    await db().insert(calls).values({
      id: 'rcall-full', conversationId: 'rconv', callerId: 'ra', calleeId: 'rb', media: 'video', provider: 'livekit', state: 'ended',
      endReason: 'completed', endedBy: 'rb', answeredByDevice: 'phone', callerDevice: 'web', recording: true, recordingRef: 'EG_1',
      dueAt: at(1), callerGoneAt: at(2), calleeGoneAt: at(3), quality: { reports: 2, avgRttMs: 40.5, maxLoss: 0.01, avgJitterMs: null, avgBitrateKbps: 900 },
      version: 7, createdAt: at(4), acceptedAt: at(5), activeAt: at(6), endedAt: at(7),
    });
    await db().insert(calls).values({ id: 'rcall-min', conversationId: 'rconv', callerId: 'ra', calleeId: 'rb', media: 'audio', provider: 'p2p', state: 'ringing', createdAt: at(8) });
    for (const id of ['rcall-full', 'rcall-min']) {
      const [viaDrizzle] = await db().select().from(calls).where(eq(calls.id, id));
      expect(Object.keys(viaDrizzle!).sort()).toEqual(Object.keys((await repo.get(db(), id))!).sort());
      expect(await repo.get(db(), id)).toEqual(viaDrizzle);
      const ctx = await repo.startContext(db(), { callId: id, actorId: 'ra', directKey: 'ra|rb' });
      expect(ctx.prior).toEqual(viaDrizzle);
    }
    const before = (await repo.get(db(), 'rcall-min'))!;
    const u = await repo.update(db(), 'rcall-min', before.version, { callerGoneAt: at(9) });
    const [viaDrizzle] = await db().select().from(calls).where(eq(calls.id, 'rcall-min'));
    expect(u).toEqual(viaDrizzle);
    expect(u).toMatchObject({ version: before.version + 1, callerGoneAt: at(9) });
    expect(await repo.update(db(), 'rcall-min', before.version, { callerGoneAt: null })).toBeNull(); // stale version: nothing applied
    expect((await repo.get(db(), 'rcall-min'))!.callerGoneAt).toEqual(at(9));
    expect(await repo.get(db(), 'nope')).toBeNull();
  });

  it('startContext: the conversation by direct key or id, its members and the blocks between the actor and them', async () => {
    const direct = await repo.startContext(db(), { callId: 'none', actorId: 'ra', directKey: 'ra|rb' });
    expect(direct.prior).toBeNull();
    expect(direct.conversation).toEqual({ id: 'rconv', kind: 'direct' });
    expect(direct.memberIds.sort()).toEqual(['ra', 'rb']);
    expect(direct.blocks).toEqual([['rb', 'ra']]);
    const group = await repo.startContext(db(), { callId: 'none', actorId: 'ra', conversationId: 'rgroup' });
    expect(group.conversation).toEqual({ id: 'rgroup', kind: 'group' });
    expect(group.memberIds.sort()).toEqual(['ra', 'rc']);
    expect(group.blocks).toEqual([]); // rc blocked rd, who is not the actor
    const missing = await repo.startContext(db(), { callId: 'none', actorId: 'ra', directKey: 'ra|zz' });
    expect(missing).toEqual({ prior: null, conversation: null, memberIds: [], blocks: [] });
  });

  it('G5: insertRinging stores the call and both lines only when both are free, reports the holders otherwise, and update frees the lines when it ends the call', async () => {
    const now = new Date();
    const row = (id: string, callerId: string, calleeId: string) =>
      ({ id, conversationId: 'rconv', callerId, calleeId, media: 'audio', provider: 'p2p', state: 'ringing', callerDevice: 'd1', recording: false, createdAt: now, dueAt: new Date(now.getTime() + 45_000) }) as const;
    const first = await repo.insertRinging(db(), row('rring-1', 'rc', 'rd'), ['rc', 'rd']);
    expect(first.lines.size).toBe(0);
    expect(first.claimed).toBe(2);
    expect(first.call).toEqual((await db().select().from(calls).where(eq(calls.id, 'rring-1')))[0]);
    // The start stores the ringing call's event in the same statement, built from the row it predicts.
    expect(repo.ringingRow(row('rring-1', 'rc', 'rd'))).toEqual(first.call);
    const recorded = { ...row('rring-rec', 'ra', 'rb'), media: 'video', provider: 'livekit', recording: true, callerDevice: null } as const;
    const rec = await repo.insertRinging(db(), recorded, ['ra', 'rb']);
    expect(repo.ringingRow(recorded)).toEqual(rec.call);
    await repo.update(db(), 'rring-rec', 0, { state: 'ended', endReason: 'cancelled', endedAt: now, dueAt: null });
    expect((await repo.lines(db(), ['rc', 'rd'])).get('rd')).toMatchObject({ id: 'rring-1', callerId: 'rc', calleeId: 'rd', state: 'ringing' });

    const busy = await repo.insertRinging(db(), row('rring-2', 'ra', 'rd'), ['ra', 'rd']);
    expect(busy.call).toBeNull();
    expect(busy.claimed).toBe(0);
    expect([...busy.lines.entries()]).toEqual([['rd', { id: 'rring-1', callerId: 'rc', calleeId: 'rd', conversationId: 'rconv', state: 'ringing' }]]);
    expect(await repo.get(db(), 'rring-2')).toBeNull(); // nothing written
    expect((await repo.lines(db(), ['ra'])).size).toBe(0);

    const taken = await repo.insertRinging(db(), row('rring-1', 'ra', 'rb'), ['ra', 'rb']); // the id exists: nothing written
    expect(taken).toMatchObject({ call: null, claimed: 0 });
    expect((await repo.lines(db(), ['ra', 'rb'])).size).toBe(0);

    const live = first.call!;
    const notEnding = await repo.update(db(), live.id, live.version, { media: 'video' });
    expect((await repo.lines(db(), ['rc', 'rd'])).size).toBe(2);
    expect(await repo.update(db(), live.id, live.version, { state: 'ended', endReason: 'cancelled', endedAt: now })).toBeNull(); // stale: lines kept
    expect((await repo.lines(db(), ['rc', 'rd'])).size).toBe(2);
    const ended = await repo.update(db(), live.id, notEnding!.version, { state: 'ended', endReason: 'cancelled', endedAt: now, endedBy: 'rc', dueAt: null });
    expect(ended).toMatchObject({ state: 'ended', endReason: 'cancelled', endedBy: 'rc', dueAt: null, endedAt: now, media: 'video' });
    expect((await repo.lines(db(), ['rc', 'rd'])).size).toBe(0);
    expect(await repo.orphanLines(db())).toBe(0);
  });

  it('updateWithEntry appends the ending call\'s entry like chatRepo.appendMessage, in the same statement, only if the update applied', async () => {
    const now = new Date(Date.UTC(2026, 0, 3, 4, 5, 6, 789));
    await db().insert(calls).values({ id: 'rentry', conversationId: 'rconv', callerId: 'ra', calleeId: 'rb', media: 'audio', provider: 'p2p', state: 'ringing', createdAt: now });
    const [conv] = await db().select().from(conversations).where(eq(conversations.id, 'rconv'));
    const entry = { conversationId: 'rconv', id: 'm-rentry', clientId: 'call-rentry', senderId: null, kind: 'system', text: 'Cancelled call', payload: { type: 'notice', code: 'call.cancelled', params: { callId: 'rentry' } }, replyToSeq: null, forwarded: false, createdAt: now, editedAt: null, deletedAt: null } as const;
    const patch = { state: 'ended', endReason: 'cancelled', endedAt: now, endedBy: 'ra', dueAt: null } as const;
    expect(await repo.updateWithEntry(db(), 'rentry', 5, patch, entry)).toBeNull(); // stale version: no update, no message
    expect((await db().select().from(conversations).where(eq(conversations.id, 'rconv')))[0]!.lastSeq).toBe(conv!.lastSeq);
    const u = await repo.updateWithEntry(db(), 'rentry', 0, patch, entry);
    expect(u!.call).toEqual((await db().select().from(calls).where(eq(calls.id, 'rentry')))[0]);
    expect(u!.entrySeq).toBe(conv!.lastSeq + 1);
    const [stored] = await db().select().from(messages).where(and(eq(messages.conversationId, 'rconv'), eq(messages.seq, u!.entrySeq!)));
    expect(stored).toMatchObject({ ...entry, seq: conv!.lastSeq + 1 });
    expect((await db().select().from(conversations).where(eq(conversations.id, 'rconv')))[0]).toMatchObject({ lastSeq: conv!.lastSeq + 1, lastMessageAt: now });
  });

  it('stores a change and its events in one statement, the events only if the change applied, and publishes them after commit', async () => {
    const published: Delivery[] = [];
    const log = new EventLog(database(), { publish: (d: Delivery[]) => void published.push(...d) } as never);
    const now = new Date();
    const ringing = (id: string) => ({ id, conversationId: 'rconv', callerId: 'ra', calleeId: 'rb', media: 'audio', provider: 'p2p', state: 'ringing', callerDevice: 'd1', recording: false, createdAt: now, dueAt: new Date(now.getTime() + 45_000) }) as const;
    const start = (id: string) =>
      log.write(async (_tx, emit, together) => {
        const r = await together(repo.ringChange(ringing(id), ['ra', 'rb']), (e) => e(['ra', 'rb'], 'call.updated', { call: { id } as never }));
        if (!r.stored) emit(['ra'], 'call.updated', { call: { id: `${id}-not-stored` } as never });
        return { ...repo.ringOutcome(r.row), stored: r.stored };
      });
    const stored = (id: string) => db().select().from(userEvents).where(and(eq(userEvents.type, 'call.updated'), sql`${userEvents.data}->'call'->>'id' = ${id}`));
    const first = await start('rtog-1');
    expect(first).toMatchObject({ stored: true, claimed: 2 });
    expect((await stored('rtog-1')).map((e) => e.userId).sort()).toEqual(['ra', 'rb']);
    expect(published.map((d) => [d.userId, (d.event.data as { call: { id: string } }).call.id])).toEqual([['ra', 'rtog-1'], ['rb', 'rtog-1']]);
    const seqs = published.map((d) => d.seq!);
    published.length = 0;
    const second = await start('rtog-2'); // both lines are held by rtog-1: nothing written by the change, so no event with it
    expect(second).toMatchObject({ stored: false, call: null, claimed: 0 });
    expect(await stored('rtog-2')).toEqual([]);
    expect(await stored('rtog-2-not-stored')).toHaveLength(1);
    expect(published.map((d) => [d.userId, (d.event.data as { call: { id: string } }).call.id])).toEqual([['ra', 'rtog-2-not-stored']]);
    expect(published[0]!.seq).toBe(seqs[0]! + 1); // no seq was taken by the events that were not stored
    await repo.update(db(), 'rtog-1', 0, { state: 'ended', endReason: 'cancelled', endedAt: now, dueAt: null });
  });
});
