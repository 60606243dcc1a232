import { and, asc, desc, eq, inArray, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/db.ts';
import { callLines, callRecordings, calls, callWebhookEvents } from '../db/schema.ts';
import type { CallPatch, LiveCall } from './calls.domain.ts';

export type CallRow = typeof calls.$inferSelect;
export type NewCall = typeof calls.$inferInsert;
export type RecordingRow = typeof callRecordings.$inferSelect;

/** Drizzle queries of calls; the conditional update and the line claim are the G5 building blocks. */
export const callsRepo = {
  async get(ex: Executor, id: string): Promise<CallRow | null> {
    const r = await ex.select().from(calls).where(eq(calls.id, id));
    return r[0] ?? null;
  },

  async lock(ex: Executor, id: string): Promise<CallRow | null> {
    const r = await ex.select().from(calls).where(eq(calls.id, id)).for('update');
    return r[0] ?? null;
  },

  async insert(ex: Executor, row: NewCall): Promise<boolean> {
    const r = await ex.insert(calls).values(row).onConflictDoNothing().returning({ id: calls.id });
    return r.length === 1;
  },

  /**
   * Claims both parties' lines (one live call per user). Inserted in user-id order so two
   * concurrent starts between the same pair never deadlock; false if either line is taken.
   */
  async claimLines(ex: Executor, callId: string, userIds: string[]): Promise<boolean> {
    for (const userId of [...userIds].sort()) {
      const r = await ex.insert(callLines).values({ userId, callId }).onConflictDoNothing().returning({ userId: callLines.userId });
      if (r.length === 0) return false;
    }
    return true;
  },

  async releaseLines(ex: Executor, callId: string): Promise<void> {
    await ex.delete(callLines).where(eq(callLines.callId, callId));
  },

  /** The live calls holding these users' lines. */
  async lines(ex: Executor, userIds: string[]): Promise<Map<string, LiveCall>> {
    const r = await ex
      .select({ userId: callLines.userId, id: calls.id, callerId: calls.callerId, calleeId: calls.calleeId, conversationId: calls.conversationId, state: calls.state })
      .from(callLines)
      .innerJoin(calls, eq(calls.id, callLines.callId))
      .where(inArray(callLines.userId, userIds));
    return new Map(r.map(({ userId, ...c }) => [userId, c]));
  },

  /** Applies a decided patch only if nobody changed the call since it was read (version check). */
  async update(ex: Executor, id: string, version: number, patch: CallPatch): Promise<CallRow | null> {
    const r = await ex
      .update(calls)
      .set({ ...patch, version: sql`${calls.version} + 1` })
      .where(and(eq(calls.id, id), eq(calls.version, version)))
      .returning();
    return r[0] ?? null;
  },

  async setRecordingRef(ex: Executor, id: string, ref: string): Promise<void> {
    await ex.update(calls).set({ recordingRef: ref }).where(eq(calls.id, id));
  },

  /** Records a webhook delivery; false when it was seen before (a duplicate to ignore). */
  async firstDelivery(ex: Executor, id: string): Promise<boolean> {
    const r = await ex.insert(callWebhookEvents).values({ id }).onConflictDoNothing().returning({ id: callWebhookEvents.id });
    return r.length === 1;
  },

  async recording(ex: Executor, id: string): Promise<RecordingRow | null> {
    const r = await ex.select().from(callRecordings).where(eq(callRecordings.id, id));
    return r[0] ?? null;
  },

  async upsertRecording(ex: Executor, row: typeof callRecordings.$inferInsert): Promise<RecordingRow> {
    const { id: _id, createdAt: _c, ...set } = row;
    const r = await ex.insert(callRecordings).values(row).onConflictDoUpdate({ target: callRecordings.id, set }).returning();
    return r[0]!;
  },

  /** Recordings still being written, with their calls (the stale-writer sweep). */
  async openRecordings(ex: Executor): Promise<Array<{ rec: RecordingRow; call: CallRow }>> {
    return ex.select({ rec: callRecordings, call: calls }).from(callRecordings).innerJoin(calls, eq(calls.id, callRecordings.callId)).where(eq(callRecordings.status, 'recording')).limit(200);
  },

  async recordings(ex: Executor, callId: string): Promise<Array<typeof callRecordings.$inferSelect>> {
    return ex.select().from(callRecordings).where(eq(callRecordings.callId, callId)).orderBy(asc(callRecordings.createdAt));
  },

  async setQuality(ex: Executor, id: string, quality: unknown): Promise<void> {
    await ex.update(calls).set({ quality }).where(eq(calls.id, id));
  },

  /** Live calls whose deadline passed or whose reconnect grace ran out, locked for this sweeper only. */
  async claimDue(ex: Executor, now: Date, goneBefore: Date, limit: number): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(
        and(
          ne(calls.state, 'ended'),
          or(lte(calls.dueAt, now), lte(calls.callerGoneAt, goneBefore), lte(calls.calleeGoneAt, goneBefore)),
        ),
      )
      .orderBy(asc(calls.dueAt))
      .limit(limit)
      .for('update', { skipLocked: true });
  },

  /** The user's live calls (to start or stop their reconnect grace). */
  async liveFor(ex: Executor, userId: string): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(and(ne(calls.state, 'ended'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))));
  },

  async history(ex: Executor, userId: string, q: { limit: number; before?: string }): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(and(or(eq(calls.callerId, userId), eq(calls.calleeId, userId)), q.before ? lt(calls.createdAt, new Date(q.before)) : undefined))
      .orderBy(desc(calls.createdAt))
      .limit(q.limit);
  },

  async countLive(ex: Executor): Promise<number> {
    const r = await ex.select({ n: sql<number>`count(*)::int` }).from(calls).where(ne(calls.state, 'ended'));
    return Number(r[0]?.n ?? 0);
  },

  /** Calls that ended without releasing lines cannot exist; this guards the invariant in tests. */
  async orphanLines(ex: Executor): Promise<number> {
    const r = await ex
      .select({ n: sql<number>`count(*)::int` })
      .from(callLines)
      .innerJoin(calls, eq(calls.id, callLines.callId))
      .where(eq(calls.state, 'ended'));
    return Number(r[0]?.n ?? 0);
  },
};
