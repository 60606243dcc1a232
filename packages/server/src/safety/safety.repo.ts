import { and, desc, eq, gt, inArray, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/db.ts';
import { auditLog, messages, reports, userSuspensions } from '../db/schema.ts';
import { messageColumns, type MessageRow } from '../chat/chat.repo.ts';

export type ReportRow = typeof reports.$inferSelect;
export type SuspensionRow = typeof userSuspensions.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;


/** Drizzle queries for reports, suspensions and the audit log. No business rules. */
export const safetyRepo = {
  async messageById(ex: Executor, id: string): Promise<MessageRow | null> {
    const r = await ex.select(messageColumns).from(messages).where(eq(messages.id, id));
    return (r[0] as MessageRow | undefined) ?? null;
  },

  /** Messages from `fromSeq` to `toSeq` (inclusive), oldest first. */
  async messagesBetween(ex: Executor, conversationId: string, fromSeq: number, toSeq: number): Promise<MessageRow[]> {
    const r = await ex
      .select(messageColumns)
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, fromSeq - 1), lt(messages.seq, toSeq + 1)))
      .orderBy(messages.seq);
    return r as MessageRow[];
  },

  async insertReport(ex: Executor, v: typeof reports.$inferInsert): Promise<number> {
    const [row] = await ex.insert(reports).values(v).returning({ id: reports.id });
    return row!.id;
  },

  async report(ex: Executor, id: number): Promise<ReportRow | null> {
    const r = await ex.select().from(reports).where(eq(reports.id, id));
    return r[0] ?? null;
  },

  async listReports(ex: Executor, q: { status?: ReportRow['status']; reportedId?: string; before?: number; limit: number }): Promise<ReportRow[]> {
    const where: SQL[] = [];
    if (q.status) where.push(eq(reports.status, q.status));
    if (q.reportedId) where.push(eq(reports.reportedId, q.reportedId));
    if (q.before) where.push(lt(reports.id, q.before));
    return ex.select().from(reports).where(where.length ? and(...where) : undefined).orderBy(desc(reports.id)).limit(q.limit);
  },

  /** Closes an open report; false when it was not open any more (another moderator was first). */
  async closeReport(ex: Executor, id: number, v: { status: 'resolved' | 'dismissed'; resolution: unknown; resolvedBy: string; resolvedAt: Date }): Promise<boolean> {
    const r = await ex
      .update(reports)
      .set(v)
      .where(and(eq(reports.id, id), eq(reports.status, 'open')))
      .returning({ id: reports.id });
    return r.length === 1;
  },

  async suspension(ex: Executor, userId: string): Promise<SuspensionRow | null> {
    const r = await ex.select().from(userSuspensions).where(eq(userSuspensions.userId, userId));
    return r[0] ?? null;
  },

  /** Of these users, the ones suspended at `now`. */
  async suspendedAmong(ex: Executor, userIds: string[], now: Date): Promise<string[]> {
    if (userIds.length === 0) return [];
    const r = await ex
      .select({ userId: userSuspensions.userId })
      .from(userSuspensions)
      .where(and(inArray(userSuspensions.userId, userIds), or(isNull(userSuspensions.until), gt(userSuspensions.until, now))));
    return r.map((x) => x.userId);
  },

  async listSuspensions(ex: Executor, now: Date): Promise<SuspensionRow[]> {
    return ex
      .select()
      .from(userSuspensions)
      .where(or(isNull(userSuspensions.until), gt(userSuspensions.until, now)))
      .orderBy(desc(userSuspensions.createdAt))
      .limit(500);
  },

  async putSuspension(ex: Executor, v: SuspensionRow): Promise<void> {
    await ex
      .insert(userSuspensions)
      .values(v)
      .onConflictDoUpdate({ target: userSuspensions.userId, set: { reason: v.reason, until: v.until, suspendedBy: v.suspendedBy, reportId: v.reportId, createdAt: v.createdAt } });
  },

  async deleteSuspension(ex: Executor, userId: string): Promise<boolean> {
    const r = await ex.delete(userSuspensions).where(eq(userSuspensions.userId, userId)).returning({ u: userSuspensions.userId });
    return r.length === 1;
  },

  async insertAudit(ex: Executor, v: Omit<typeof auditLog.$inferInsert, 'id'>): Promise<void> {
    await ex.insert(auditLog).values(v);
  },

  async listAudit(ex: Executor, q: { actorId?: string; action?: string; targetType?: string; targetId?: string; before?: number; limit: number }): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (q.actorId) where.push(eq(auditLog.actorId, q.actorId));
    if (q.action) where.push(eq(auditLog.action, q.action));
    if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
    if (q.targetId) where.push(eq(auditLog.targetId, q.targetId));
    if (q.before) where.push(lt(auditLog.id, q.before));
    return ex.select().from(auditLog).where(where.length ? and(...where) : undefined).orderBy(desc(auditLog.id)).limit(q.limit);
  },
};
