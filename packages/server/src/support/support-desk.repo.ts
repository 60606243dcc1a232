import { and, asc, eq, isNull, or, sql, inArray } from 'drizzle-orm';
import type { SupportPercentiles } from '@sohbet/protocol';
import { rows, type Executor } from '../db/db.ts';
import { supportCanned, supportChats, supportNotes } from '../db/schema.ts';
import type { SupportChatRow } from './support.repo.ts';

export type NoteRow = typeof supportNotes.$inferSelect;
export type CannedRow = typeof supportCanned.$inferSelect;

/** Drizzle queries of the operator desk: CSAT, internal notes, canned responses, service metrics. */
export const supportDeskRepo = {
  /** Stores the rating only on a resolved chat of this customer that has none yet (once). */
  async rate(ex: Executor, chatId: string, customerId: string, score: number, comment: string | null, at: Date): Promise<SupportChatRow | null> {
    const r = await ex
      .update(supportChats)
      .set({ csatScore: score, csatComment: comment, csatAt: at, version: sql`${supportChats.version} + 1` })
      .where(and(eq(supportChats.id, chatId), eq(supportChats.customerId, customerId), eq(supportChats.state, 'resolved'), isNull(supportChats.csatScore)))
      .returning();
    return r[0] ?? null;
  },

  async insertNote(ex: Executor, row: NoteRow): Promise<void> {
    await ex.insert(supportNotes).values(row);
  },

  async notes(ex: Executor, chatId: string): Promise<NoteRow[]> {
    return ex.select().from(supportNotes).where(eq(supportNotes.chatId, chatId)).orderBy(asc(supportNotes.createdAt), asc(supportNotes.id));
  },

  async insertCanned(ex: Executor, row: CannedRow): Promise<void> {
    await ex.insert(supportCanned).values(row);
  },

  /** Responses an operator may use: their own, their teams' (topics; all teams when they serve every topic), and global ones. */
  async cannedFor(ex: Executor, operatorId: string, topics: readonly string[]): Promise<CannedRow[]> {
    const team = topics.length === 0 ? sql`${supportCanned.topic} is not null` : inArray(supportCanned.topic, [...topics]);
    return ex
      .select()
      .from(supportCanned)
      .where(or(eq(supportCanned.ownerId, operatorId), and(isNull(supportCanned.ownerId), or(team, isNull(supportCanned.topic)))))
      .orderBy(asc(supportCanned.title), asc(supportCanned.id));
  },

  async canned(ex: Executor, id: string): Promise<CannedRow | null> {
    const r = await ex.select().from(supportCanned).where(eq(supportCanned.id, id));
    return r[0] ?? null;
  },

  async deleteCanned(ex: Executor, id: string): Promise<void> {
    await ex.delete(supportCanned).where(eq(supportCanned.id, id));
  },

  /** Live counts: waiting chats per topic and priority (with the oldest wait) and open chats per state. */
  async counts(ex: Executor, now: Date) {
    const queued = await rows<{ topic: string; priority: string; count: number; oldest: number }>(
      ex,
      sql`select topic, priority, count(*)::int as count, coalesce(max(extract(epoch from (${now.toISOString()}::timestamptz - queued_at))), 0)::float8 as oldest
          from support_chats where state in ('queued', 'offered') group by topic, priority order by topic, priority`,
    );
    const open = await rows<{ state: string; count: number }>(ex, sql`select state, count(*)::int as count from support_chats where state <> 'resolved' group by state`);
    const sla = await rows<{ wait: number; fr: number }>(
      ex,
      sql`select count(sla_wait_warned_at)::int as wait, count(sla_response_warned_at)::int as fr from support_chats`,
    );
    return { queued, open, sla: sla[0] ?? { wait: 0, fr: 0 } };
  },

  /**
   * p50/p95 (seconds) of time to assign, first response and handle time over the last `limit`
   * resolved or assigned chats, overall and per topic and priority; CSAT average.
   */
  async servicePercentiles(ex: Executor, limit = 1000) {
    const pct = (col: string) =>
      sql.raw(`percentile_cont(0.5) within group (order by ${col}) as ${col}_p50, percentile_cont(0.95) within group (order by ${col}) as ${col}_p95, count(${col})::int as ${col}_n`);
    const recent = sql`(select topic, priority, csat_score,
                          extract(epoch from (assigned_at - queued_at)) as tta,
                          extract(epoch from (first_response_at - assigned_at)) as tfr,
                          case when state = 'resolved' then extract(epoch from (resolved_at - assigned_at)) end as ht,
                          state
                        from support_chats where assigned_at is not null order by assigned_at desc limit ${limit}) r`;
    const all = await rows<Record<string, number | null>>(ex, sql`select ${pct('tta')}, ${pct('tfr')}, ${pct('ht')}, avg(csat_score)::float8 as csat, count(csat_score)::int as csat_n from ${recent}`);
    const by = await rows<Record<string, number | string | null>>(
      ex,
      sql`select topic, priority, ${pct('tta')}, count(*) filter (where state = 'resolved')::int as resolved from ${recent} group by topic, priority order by topic, priority`,
    );
    const p = (x: Record<string, unknown> | undefined, col: string): SupportPercentiles => ({
      p50: x?.[`${col}_p50`] == null ? null : Number(x[`${col}_p50`]),
      p95: x?.[`${col}_p95`] == null ? null : Number(x[`${col}_p95`]),
      count: Number(x?.[`${col}_n`] ?? 0),
    });
    const a = all[0];
    return {
      timeToAssign: p(a, 'tta'),
      timeToFirstResponse: p(a, 'tfr'),
      handleTime: p(a, 'ht'),
      csat: { average: a?.csat == null ? null : Number(a.csat), count: Number(a?.csat_n ?? 0) },
      byTopic: by.map((x) => ({ topic: String(x.topic), priority: String(x.priority), timeToAssign: p(x, 'tta'), resolved: Number(x.resolved ?? 0) })),
    };
  },
};
