import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Executor } from '../db/db.ts';
import { mediaHeard, mediaObjects } from '../db/schema.ts';

export type MediaRow = typeof mediaObjects.$inferSelect;
export type NewMediaRow = typeof mediaObjects.$inferInsert;

/** Drizzle queries of attachments; the conditional updates make each state change happen once. */
export const mediaRepo = {
  async insert(ex: Executor, row: NewMediaRow): Promise<void> {
    await ex.insert(mediaObjects).values(row);
  },

  async byId(ex: Executor, id: string): Promise<MediaRow | null> {
    const r = await ex.select().from(mediaObjects).where(eq(mediaObjects.id, id));
    return r[0] ?? null;
  },

  /** pending -> ready, only once (a concurrent finalize or the sweep wins otherwise). */
  async markReady(ex: Executor, id: string, patch: Partial<MediaRow>): Promise<MediaRow | null> {
    const r = await ex
      .update(mediaObjects)
      .set({ ...patch, state: 'ready' })
      .where(and(eq(mediaObjects.id, id), eq(mediaObjects.state, 'pending')))
      .returning();
    return r[0] ?? null;
  },

  /** ready -> attached for the sender's own uploads to this conversation; returns what was claimed. */
  async attach(ex: Executor, q: { ids: string[]; ownerId: string; conversationId: string; seq: number }): Promise<MediaRow[]> {
    return ex
      .update(mediaObjects)
      .set({ state: 'attached', messageSeq: q.seq, dueAt: null })
      .where(and(inArray(mediaObjects.id, q.ids), eq(mediaObjects.ownerId, q.ownerId), eq(mediaObjects.conversationId, q.conversationId), eq(mediaObjects.state, 'ready')))
      .returning();
  },

  async byIds(ex: Executor, ids: string[]): Promise<MediaRow[]> {
    return ids.length ? ex.select().from(mediaObjects).where(inArray(mediaObjects.id, ids)) : [];
  },

  /** A message deleted for everyone: its files become due for removal now (the sweep deletes them). */
  async scheduleMessageFiles(ex: Executor, conversationId: string, seq: number, now: Date): Promise<number> {
    const r = await ex
      .update(mediaObjects)
      .set({ state: 'deleting', dueAt: now })
      .where(and(eq(mediaObjects.conversationId, conversationId), eq(mediaObjects.messageSeq, seq)))
      .returning({ id: mediaObjects.id });
    return r.length;
  },

  async scheduleRemoval(ex: Executor, id: string, now: Date): Promise<void> {
    await ex.update(mediaObjects).set({ state: 'deleting', dueAt: now }).where(eq(mediaObjects.id, id));
  },

  /** Rows past their due time (unfinalized, unsent, or deleted), claimed so one instance handles each. */
  async claimDue(ex: Executor, now: Date, limit: number): Promise<MediaRow[]> {
    return ex.select().from(mediaObjects).where(lte(mediaObjects.dueAt, now)).orderBy(asc(mediaObjects.dueAt)).limit(limit).for('update', { skipLocked: true });
  },

  async remove(ex: Executor, ids: string[]): Promise<void> {
    if (ids.length) await ex.delete(mediaObjects).where(inArray(mediaObjects.id, ids));
  },

  /** Bytes kept per user (finalized files and their thumbnails are counted by the original's size). */
  async usage(ex: Executor, userId?: string): Promise<Array<{ userId: string; files: number; bytes: number }>> {
    const r = await ex
      .select({ userId: mediaObjects.ownerId, files: sql<number>`count(*)::int`, bytes: sql<number>`coalesce(sum(${mediaObjects.size}), 0)::bigint` })
      .from(mediaObjects)
      .where(and(inArray(mediaObjects.state, ['ready', 'attached']), userId ? eq(mediaObjects.ownerId, userId) : undefined))
      .groupBy(mediaObjects.ownerId)
      .orderBy(sql`3 desc`);
    return r.map((x) => ({ userId: x.userId, files: Number(x.files), bytes: Number(x.bytes) }));
  },

  /** First play only: true when this call recorded it. */
  async markHeard(ex: Executor, v: { conversationId: string; seq: number; userId: string; heardAt: Date }): Promise<boolean> {
    const r = await ex.insert(mediaHeard).values(v).onConflictDoNothing().returning({ seq: mediaHeard.seq });
    return r.length > 0;
  },

  async heard(ex: Executor, conversationId: string, seqs: number[]): Promise<Array<{ seq: number; userId: string; heardAt: Date }>> {
    if (!seqs.length) return [];
    return ex
      .select({ seq: mediaHeard.seq, userId: mediaHeard.userId, heardAt: mediaHeard.heardAt })
      .from(mediaHeard)
      .where(and(eq(mediaHeard.conversationId, conversationId), inArray(mediaHeard.seq, seqs)));
  },
};
