import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/db.ts';
import {
  blocks,
  callRecordings,
  calls,
  conversations,
  hiddenMessages,
  mediaObjects,
  members,
  messages,
  notifyDevices,
  notifyOutbox,
  notifyPrefs,
  privacyJobs,
  reactions,
  reports,
  supportChats,
  userEvents,
  users,
} from '../db/schema.ts';

export type UserRow = typeof users.$inferSelect;

/** Drizzle queries of the privacy feature: what an export reads and what a deletion changes. */
export const privacyRepo = {
  async user(ex: Executor, id: string): Promise<UserRow | null> {
    const [r] = await ex.select().from(users).where(eq(users.id, id));
    return r ?? null;
  },

  async lockUser(ex: Executor, id: string): Promise<UserRow | null> {
    const [r] = await ex.select().from(users).where(eq(users.id, id)).for('update');
    return r ?? null;
  },

  async deletedAt(ex: Executor, id: string): Promise<Date | null> {
    const [r] = await ex.select({ deletedAt: users.deletedAt }).from(users).where(eq(users.id, id));
    return r?.deletedAt ?? null;
  },

  // ---- export ----

  async memberships(ex: Executor, userId: string) {
    return ex
      .select({ m: members, c: conversations })
      .from(members)
      .innerJoin(conversations, eq(conversations.id, members.conversationId))
      .where(eq(members.userId, userId))
      .orderBy(asc(conversations.createdAt));
  },

  async membersOf(ex: Executor, conversationIds: string[]) {
    if (!conversationIds.length) return [];
    return ex
      .select({ conversationId: members.conversationId, userId: members.userId, name: users.name })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(inArray(members.conversationId, conversationIds));
  },

  async messagesBy(ex: Executor, userId: string) {
    return ex.select().from(messages).where(eq(messages.senderId, userId)).orderBy(asc(messages.conversationId), asc(messages.seq));
  },

  async reactionsBy(ex: Executor, userId: string) {
    return ex.select().from(reactions).where(eq(reactions.userId, userId));
  },

  async filesOf(ex: Executor, userId: string) {
    return ex
      .select()
      .from(mediaObjects)
      .where(and(eq(mediaObjects.ownerId, userId), inArray(mediaObjects.state, ['ready', 'attached'])))
      .orderBy(asc(mediaObjects.createdAt));
  },

  async callsOf(ex: Executor, userId: string) {
    return ex.select().from(calls).where(or(eq(calls.callerId, userId), eq(calls.calleeId, userId))).orderBy(asc(calls.createdAt));
  },

  async recordingsOf(ex: Executor, userId: string) {
    return ex.select().from(callRecordings).where(eq(callRecordings.userId, userId));
  },

  async supportChatsOf(ex: Executor, userId: string) {
    return ex.select().from(supportChats).where(eq(supportChats.customerId, userId)).orderBy(asc(supportChats.createdAt));
  },

  async blocksBy(ex: Executor, userId: string) {
    return ex.select().from(blocks).where(eq(blocks.blockerId, userId));
  },

  async reportsBy(ex: Executor, userId: string) {
    return ex.select().from(reports).where(eq(reports.reporterId, userId));
  },

  async devicesOf(ex: Executor, userId: string) {
    return ex.select().from(notifyDevices).where(eq(notifyDevices.userId, userId));
  },

  async prefsOf(ex: Executor, userId: string) {
    const [r] = await ex.select().from(notifyPrefs).where(eq(notifyPrefs.userId, userId));
    return r ?? null;
  },

  // ---- deletion ----

  async anonymise(ex: Executor, userId: string, name: string, at: Date): Promise<void> {
    await ex.update(users).set({ name, avatarUrl: null, roles: [], deletedAt: at, updatedAt: at }).where(eq(users.id, userId));
  },

  /** Tombstones up to `limit` of the user's live messages; returns which ones (the seq stays, G1). */
  async tombstoneBatch(ex: Executor, userId: string, at: Date, limit: number): Promise<Array<{ conversationId: string; seq: number }>> {
    const batch = await ex
      .select({ conversationId: messages.conversationId, seq: messages.seq })
      .from(messages)
      .where(and(eq(messages.senderId, userId), isNull(messages.deletedAt)))
      .orderBy(asc(messages.conversationId), asc(messages.seq))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (!batch.length) return [];
    const keys = sql.join(batch.map((b) => sql`(${b.conversationId}, ${b.seq})`), sql`, `);
    await ex.update(messages).set({ text: null, payload: null, deletedAt: at }).where(sql`(${messages.conversationId}, ${messages.seq}) in (${keys})`);
    await ex.delete(reactions).where(sql`(${reactions.conversationId}, ${reactions.seq}) in (${keys})`);
    return batch;
  },

  /** Deleted accounts that still have live messages (a deletion interrupted mid-way; the sweep finishes it). */
  async unfinishedDeletions(ex: Executor, limit: number): Promise<string[]> {
    const r = await ex
      .select({ id: users.id })
      .from(users)
      .where(and(isNotNull(users.deletedAt), sql`exists (select 1 from ${messages} where ${messages.senderId} = ${users.id} and ${messages.deletedAt} is null)`))
      .limit(limit);
    return r.map((x) => x.id);
  },

  async membersByConversation(ex: Executor, conversationIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!conversationIds.length) return out;
    const rows = await ex.select({ c: members.conversationId, u: members.userId }).from(members).where(inArray(members.conversationId, conversationIds));
    for (const r of rows) {
      let l = out.get(r.c);
      if (!l) out.set(r.c, (l = []));
      l.push(r.u);
    }
    return out;
  },

  /** Every file the user uploaded becomes due for removal now (the media sweep deletes the objects). */
  async scheduleFiles(ex: Executor, userId: string, at: Date): Promise<number> {
    const r = await ex
      .update(mediaObjects)
      .set({ state: 'deleting', dueAt: at })
      .where(eq(mediaObjects.ownerId, userId))
      .returning({ id: mediaObjects.id });
    return r.length;
  },

  async removeRecordingRows(ex: Executor, ids: string[]): Promise<void> {
    if (ids.length) await ex.delete(callRecordings).where(inArray(callRecordings.id, ids));
  },

  async removePersonalRows(ex: Executor, userId: string): Promise<{ devices: number }> {
    await ex.delete(reactions).where(eq(reactions.userId, userId));
    await ex.delete(hiddenMessages).where(eq(hiddenMessages.userId, userId));
    await ex.delete(blocks).where(or(eq(blocks.blockerId, userId), eq(blocks.blockedId, userId)));
    const devices = await ex.delete(notifyDevices).where(eq(notifyDevices.userId, userId)).returning({ id: notifyDevices.id });
    await ex.delete(notifyPrefs).where(eq(notifyPrefs.userId, userId));
    await ex.delete(notifyOutbox).where(eq(notifyOutbox.userId, userId));
    // The user's own event log holds copies of what they saw; nobody reads it again.
    await ex.delete(userEvents).where(eq(userEvents.userId, userId));
    await ex.update(users).set({ eventsPrunedSeq: users.eventSeq }).where(eq(users.id, userId));
    // Support chats keep their routing history for the operators, not the customer's words.
    await ex.update(supportChats).set({ firstMessage: '', csatComment: null, context: null }).where(eq(supportChats.customerId, userId));
    return { devices: devices.length };
  },

  // ---- retention ----

  /** Claims the job's run: true for exactly one instance per period (a conditional update on next_run_at). */
  async claimJob(ex: Executor, name: string, now: Date, next: Date): Promise<boolean> {
    await ex.insert(privacyJobs).values({ name, nextRunAt: now }).onConflictDoNothing();
    const r = await ex
      .update(privacyJobs)
      .set({ nextRunAt: next, lastRunAt: now })
      .where(and(eq(privacyJobs.name, name), lte(privacyJobs.nextRunAt, now)))
      .returning({ name: privacyJobs.name });
    return r.length > 0;
  },

  async recordJob(ex: Executor, name: string, result: unknown): Promise<void> {
    await ex.update(privacyJobs).set({ lastResult: result }).where(eq(privacyJobs.name, name));
  },

  async job(ex: Executor, name: string) {
    const [r] = await ex.select().from(privacyJobs).where(eq(privacyJobs.name, name));
    return r ?? null;
  },

  /** Live messages older than the cutoff (system notices included), oldest first. */
  async expireMessages(ex: Executor, before: Date, at: Date, limit: number): Promise<Array<{ conversationId: string; seq: number }>> {
    const batch = await ex
      .select({ conversationId: messages.conversationId, seq: messages.seq })
      .from(messages)
      .where(and(lt(messages.createdAt, before), isNull(messages.deletedAt)))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (!batch.length) return [];
    const keys = sql.join(batch.map((b) => sql`(${b.conversationId}, ${b.seq})`), sql`, `);
    await ex.update(messages).set({ text: null, payload: null, deletedAt: at }).where(sql`(${messages.conversationId}, ${messages.seq}) in (${keys})`);
    await ex.delete(reactions).where(sql`(${reactions.conversationId}, ${reactions.seq}) in (${keys})`);
    await ex
      .update(mediaObjects)
      .set({ state: 'deleting', dueAt: at })
      .where(and(ne(mediaObjects.state, 'deleting'), sql`(${mediaObjects.conversationId}, ${mediaObjects.messageSeq}) in (${keys})`));
    return batch;
  },

  /** Sent files older than the cutoff become due for removal (the media sweep deletes them). */
  async expireFiles(ex: Executor, before: Date, at: Date): Promise<number> {
    const r = await ex
      .update(mediaObjects)
      .set({ state: 'deleting', dueAt: at })
      .where(and(inArray(mediaObjects.state, ['ready', 'attached']), lt(mediaObjects.createdAt, before)))
      .returning({ id: mediaObjects.id });
    return r.length;
  },

  async expiredRecordings(ex: Executor, before: Date, limit: number) {
    return ex.select().from(callRecordings).where(lt(callRecordings.createdAt, before)).orderBy(asc(callRecordings.createdAt)).limit(limit);
  },
};
