import { and, asc, eq, inArray, lte, ne, notInArray, or, sql } from 'drizzle-orm';
import { rows, type Executor } from '../db/db.ts';
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

  /**
   * The files of a message, locked against a concurrent delete-for-everyone until this transaction
   * ends (FOR SHARE: forwards of the same message do not wait for each other).
   */
  async lockMessageFiles(ex: Executor, conversationId: string, seq: number): Promise<MediaRow[]> {
    return ex
      .select()
      .from(mediaObjects)
      .where(and(eq(mediaObjects.conversationId, conversationId), eq(mediaObjects.messageSeq, seq)))
      .for('share');
  },

  async insertMany(ex: Executor, rows: NewMediaRow[]): Promise<MediaRow[]> {
    return rows.length ? ex.insert(mediaObjects).values(rows).returning() : [];
  },

  /**
   * Of these storage keys, the ones a live attachment (not being deleted, and not in `exceptIds`)
   * still references: a forwarded message shares its original's objects (reference counting).
   */
  async keysInUse(ex: Executor, keys: string[], exceptIds: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const r = await ex
      .select({ o: mediaObjects.storageKey, t: mediaObjects.thumbKey })
      .from(mediaObjects)
      .where(
        and(
          or(inArray(mediaObjects.storageKey, keys), inArray(mediaObjects.thumbKey, keys)),
          ne(mediaObjects.state, 'deleting'),
          exceptIds.length ? notInArray(mediaObjects.id, exceptIds) : undefined,
        ),
      );
    return new Set(r.flatMap((x) => [x.o, x.t]).filter((k): k is string => k !== null && keys.includes(k)));
  },

  /**
   * Attachments whose message no longer shows them — the message row is gone, deleted for everyone,
   * or its payload no longer names the attachment — become due now, whichever path removed them.
   */
  async scheduleUnreferenced(ex: Executor, now: Date): Promise<number> {
    const r = await rows<{ id: string }>(
      ex,
      sql`update media_objects mo set state = 'deleting', due_at = ${now.toISOString()}
           where mo.state = 'attached'
             and not exists (select 1 from messages m
                              where m.conversation_id = mo.conversation_id and m.seq = mo.message_seq and m.deleted_at is null
                                and m.payload @> jsonb_build_object('attachments', jsonb_build_array(jsonb_build_object('id', mo.id))))
         returning mo.id`,
    );
    return r.length;
  },

  /**
   * Of these object keys (`m/<attachment id>/...`), the ones some row still claims: by its own id
   * (an upload being finalized writes its thumbnail before its row names it) or as a shared object.
   */
  async claimedKeys(ex: Executor, keys: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const ids = [...new Set(keys.map((k) => k.split('/')[1] ?? ''))];
    const r = await ex
      .select({ id: mediaObjects.id, o: mediaObjects.storageKey, t: mediaObjects.thumbKey })
      .from(mediaObjects)
      .where(or(inArray(mediaObjects.id, ids), inArray(mediaObjects.storageKey, keys), inArray(mediaObjects.thumbKey, keys)));
    const owners = new Set(r.map((x) => x.id));
    const shared = new Set(r.flatMap((x) => [x.o, x.t]));
    return new Set(keys.filter((k) => owners.has(k.split('/')[1] ?? '') || shared.has(k)));
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

  /**
   * Bytes kept per user: each stored original counted once, for its uploader, however many messages
   * (forwards) reference it; thumbnails are not counted.
   */
  async usage(ex: Executor, userId?: string): Promise<Array<{ userId: string; files: number; bytes: number }>> {
    const r = await rows<{ user_id: string; files: number | string; bytes: number | string }>(
      ex,
      sql`select owner_id as user_id, count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes
            from (select distinct on (storage_key) owner_id, size from media_objects
                   where state in ('ready', 'attached') ${userId ? sql`and owner_id = ${userId}` : sql``}
                   order by storage_key) kept
           group by owner_id order by 3 desc`,
    );
    return r.map((x) => ({ userId: x.user_id, files: Number(x.files), bytes: Number(x.bytes) }));
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
