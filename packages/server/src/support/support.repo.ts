import { and, asc, desc, eq, inArray, isNotNull, lte, ne, or, sql } from 'drizzle-orm';
import type { SupportPriority, SupportState } from '@sohbet/protocol';
import type { Executor } from '../db/db.ts';
import { supportChats, supportDecisions, supportOperators, users } from '../db/schema.ts';
import type { RoutingDecision } from './support.domain.ts';
import { routingRepo } from './support-routing.repo.ts';

export type SupportChatRow = typeof supportChats.$inferSelect;
export type OperatorRow = typeof supportOperators.$inferSelect;
export type ChatPatch = Partial<Omit<SupportChatRow, 'id' | 'version' | 'conversationId' | 'customerId' | 'createdAt'>>;

/** Drizzle queries of live support; the conditional updates here are the G5 building blocks. */
export const supportRepo = {
  async ensureOperator(ex: Executor, userId: string, maxChats: number): Promise<void> {
    await ex.insert(supportOperators).values({ userId, maxChats }).onConflictDoNothing();
  },

  async operator(ex: Executor, userId: string): Promise<OperatorRow | null> {
    const r = await ex.select().from(supportOperators).where(eq(supportOperators.userId, userId));
    return r[0] ?? null;
  },

  async operators(ex: Executor): Promise<OperatorRow[]> {
    return ex.select().from(supportOperators).orderBy(asc(supportOperators.userId));
  },

  async updateOperator(ex: Executor, userId: string, set: Partial<Pick<OperatorRow, 'status' | 'maxChats' | 'topics' | 'disconnectedAt' | 'seenAt'>>, now: Date): Promise<OperatorRow | null> {
    const r = await ex.update(supportOperators).set({ ...set, updatedAt: now }).where(eq(supportOperators.userId, userId)).returning();
    return r[0] ?? null;
  },

  /** Locks operator rows in id order, so two transfers in opposite directions never deadlock. */
  async lockOperators(ex: Executor, ids: string[]): Promise<void> {
    const sorted = [...new Set(ids)].sort();
    if (sorted.length) await ex.select({ id: supportOperators.userId }).from(supportOperators).where(inArray(supportOperators.userId, sorted)).orderBy(asc(supportOperators.userId)).for('update');
  },

  /**
   * Takes one slot of the operator's capacity — only if available, connected and under the limit
   * (G5). Zero rows means the claim lost; the caller rolls the whole transaction back.
   */
  async claimSlot(ex: Executor, userId: string, now: Date): Promise<OperatorRow | null> {
    const r = await ex
      .update(supportOperators)
      .set({ activeChats: sql`${supportOperators.activeChats} + 1`, lastAssignedAt: now, updatedAt: now })
      .where(
        and(
          eq(supportOperators.userId, userId),
          eq(supportOperators.status, 'available'),
          sql`${supportOperators.disconnectedAt} is null`,
          sql`${supportOperators.activeChats} < ${supportOperators.maxChats}`,
        ),
      )
      .returning();
    return r[0] ?? null;
  },

  async releaseSlot(ex: Executor, userId: string, now: Date): Promise<OperatorRow | null> {
    const r = await ex
      .update(supportOperators)
      .set({ activeChats: sql`greatest(${supportOperators.activeChats} - 1, 0)`, updatedAt: now })
      .where(eq(supportOperators.userId, userId))
      .returning();
    return r[0] ?? null;
  },

  /** The new chat, or null when it already exists (a concurrent start). */
  async insertChat(ex: Executor, row: typeof supportChats.$inferInsert): Promise<SupportChatRow | null> {
    const r = await ex.insert(supportChats).values(row).onConflictDoNothing().returning();
    return r[0] ?? null;
  },

  async chat(ex: Executor, id: string): Promise<SupportChatRow | null> {
    return routingRepo.chat(ex, id);
  },

  async chatByConversation(ex: Executor, conversationId: string): Promise<SupportChatRow | null> {
    return routingRepo.chatByConversation(ex, conversationId);
  },

  async openChat(ex: Executor, customerId: string, topic: string): Promise<SupportChatRow | null> {
    return routingRepo.openChat(ex, customerId, topic);
  },

  /** The customer's chats: open ones and the most recently resolved. */
  async customerChats(ex: Executor, customerId: string): Promise<SupportChatRow[]> {
    return ex.select().from(supportChats).where(eq(supportChats.customerId, customerId)).orderBy(desc(supportChats.createdAt)).limit(20);
  },

  /**
   * The one conditional chat update: applies only when the chat is still in one of `from` at
   * version `version`; zero rows means someone else changed it first (G5).
   */
  async updateChat(ex: Executor, id: string, from: readonly SupportState[], version: number, set: ChatPatch): Promise<SupportChatRow | null> {
    const r = await ex
      .update(supportChats)
      .set({ ...set, version: sql`${supportChats.version} + 1` })
      .where(and(eq(supportChats.id, id), inArray(supportChats.state, [...from]), eq(supportChats.version, version)))
      .returning();
    return r[0] ?? null;
  },

  async setPriority(ex: Executor, id: string, priority: SupportPriority): Promise<SupportChatRow | null> {
    const r = await ex.update(supportChats).set({ priority, version: sql`${supportChats.version} + 1` }).where(eq(supportChats.id, id)).returning();
    return r[0] ?? null;
  },

  async markFirstResponse(ex: Executor, id: string, at: Date): Promise<void> {
    await ex.update(supportChats).set({ firstResponseAt: at }).where(and(eq(supportChats.id, id), sql`${supportChats.firstResponseAt} is null`));
  },

  async queued(ex: Executor, limit = 500): Promise<SupportChatRow[]> {
    return ex.select().from(supportChats).where(eq(supportChats.state, 'queued')).orderBy(asc(supportChats.queuedAt)).limit(limit);
  },

  /** Queued and offered chats (what operators see in the queue). */
  async waiting(ex: Executor, limit = 500): Promise<SupportChatRow[]> {
    return ex.select().from(supportChats).where(inArray(supportChats.state, ['queued', 'offered'])).orderBy(asc(supportChats.queuedAt)).limit(limit);
  },

  /** The waiting chats' routing keys only (positions, estimates, who to signal): no full rows per event. */
  async waitingKeys(ex: Executor, limit = 500): Promise<Array<Pick<SupportChatRow, 'id' | 'state' | 'topic' | 'priority' | 'queuedAt' | 'customerId'>>> {
    return ex
      .select({ id: supportChats.id, state: supportChats.state, topic: supportChats.topic, priority: supportChats.priority, queuedAt: supportChats.queuedAt, customerId: supportChats.customerId })
      .from(supportChats)
      .where(inArray(supportChats.state, ['queued', 'offered']))
      .orderBy(asc(supportChats.queuedAt))
      .limit(limit);
  },

  /** Every chat not resolved (the supervisor view). */
  async open(ex: Executor, limit = 500): Promise<SupportChatRow[]> {
    return ex.select().from(supportChats).where(ne(supportChats.state, 'resolved')).orderBy(asc(supportChats.queuedAt)).limit(limit);
  },

  /** Chats offered to or owned by an operator. */
  async heldBy(ex: Executor, userId: string): Promise<SupportChatRow[]> {
    return ex
      .select()
      .from(supportChats)
      .where(or(and(eq(supportChats.state, 'offered'), eq(supportChats.offeredTo, userId)), and(inArray(supportChats.state, ['assigned', 'pending', 'snoozed']), eq(supportChats.operatorId, userId))))
      .orderBy(asc(supportChats.queuedAt));
  },

  /** Offers past their due time, claimed so that only one instance handles each (durable timer). */
  async claimDueOffers(ex: Executor, now: Date, limit: number): Promise<SupportChatRow[]> {
    return ex
      .select()
      .from(supportChats)
      .where(and(eq(supportChats.state, 'offered'), lte(supportChats.offerExpiresAt, now)))
      .orderBy(asc(supportChats.offerExpiresAt))
      .limit(limit)
      .for('update', { skipLocked: true });
  },

  /** Operators whose last socket closed before `cutoff` (grace over), claimed like offers. */
  async claimGoneOperators(ex: Executor, cutoff: Date, limit: number): Promise<OperatorRow[]> {
    return ex
      .select()
      .from(supportOperators)
      .where(and(isNotNull(supportOperators.disconnectedAt), lte(supportOperators.disconnectedAt, cutoff), sql`${supportOperators.activeChats} > 0`))
      .limit(limit)
      .for('update', { skipLocked: true });
  },

  async insertDecision(ex: Executor, chatId: string, kind: string, decision: RoutingDecision, at: Date): Promise<void> {
    await ex.insert(supportDecisions).values({ chatId, kind, decision, createdAt: at });
  },

  async decisions(ex: Executor, chatId: string): Promise<Array<{ kind: string; decision: RoutingDecision; createdAt: Date }>> {
    const r = await ex.select().from(supportDecisions).where(eq(supportDecisions.chatId, chatId)).orderBy(asc(supportDecisions.id));
    return r.map((x) => ({ kind: x.kind, decision: (typeof x.decision === 'string' ? JSON.parse(x.decision) : x.decision) as RoutingDecision, createdAt: x.createdAt }));
  },

  /** Mean handle time (assign → resolve) of the last 50 resolved chats of a topic, for the wait estimate. */
  async meanHandleMs(ex: Executor, topic: string): Promise<number | null> {
    const r = await ex.execute(
      sql`select avg(extract(epoch from (resolved_at - assigned_at)) * 1000)::float8 as ms from (
            select resolved_at, assigned_at from support_chats
            where topic = ${topic} and state = 'resolved' and assigned_at is not null and resolved_at is not null
            order by resolved_at desc limit 50) t`,
    );
    const v = (r as unknown as { rows: Array<{ ms: number | null }> }).rows[0]?.ms;
    return v === null || v === undefined ? null : Number(v);
  },

  /** Conversation id → topic, for the conversations that are support chats (their translated title). */
  async topicsByConversation(ex: Executor, conversationIds: string[]): Promise<Map<string, string>> {
    if (conversationIds.length === 0) return new Map();
    const r = await ex.select({ c: supportChats.conversationId, topic: supportChats.topic }).from(supportChats).where(inArray(supportChats.conversationId, conversationIds));
    return new Map(r.map((x) => [x.c, x.topic]));
  },

  async touchActivity(ex: Executor, id: string, at: Date): Promise<void> {
    await ex.update(supportChats).set({ lastActivityAt: at }).where(eq(supportChats.id, id));
  },

  /** Heartbeat of the instance holding these operators' sockets: the durable last-seen. */
  async markSeen(ex: Executor, userIds: string[], at: Date): Promise<void> {
    if (userIds.length) await ex.update(supportOperators).set({ seenAt: at }).where(inArray(supportOperators.userId, [...new Set(userIds)]));
  },

  /**
   * Operators marked connected whose last-seen went stale: the instance holding their sockets died
   * without recording a disconnect. Their grace timer starts from the last heartbeat (one UPDATE,
   * so only one instance does it).
   */
  async markStaleDisconnected(ex: Executor, staleBefore: Date): Promise<string[]> {
    const r = await ex
      .update(supportOperators)
      .set({ disconnectedAt: sql`${supportOperators.seenAt}` })
      .where(and(sql`${supportOperators.disconnectedAt} is null`, isNotNull(supportOperators.seenAt), lte(supportOperators.seenAt, staleBefore)))
      .returning({ id: supportOperators.userId });
    return r.map((x) => x.id);
  },

  /**
   * SLA warnings: marks chats past a threshold as warned and returns them. A conditional UPDATE on
   * a null column fires each warning once, whichever instance gets there first.
   */
  async claimSlaWait(ex: Executor, queuedBefore: Date, at: Date): Promise<SupportChatRow[]> {
    return ex
      .update(supportChats)
      .set({ slaWaitWarnedAt: at })
      .where(and(inArray(supportChats.state, ['queued', 'offered']), lte(supportChats.queuedAt, queuedBefore), sql`${supportChats.slaWaitWarnedAt} is null`))
      .returning();
  },

  async claimSlaFirstResponse(ex: Executor, assignedBefore: Date, at: Date): Promise<SupportChatRow[]> {
    return ex
      .update(supportChats)
      .set({ slaResponseWarnedAt: at })
      .where(
        and(
          inArray(supportChats.state, ['assigned', 'pending']),
          lte(supportChats.assignedAt, assignedBefore),
          sql`${supportChats.firstResponseAt} is null`,
          sql`${supportChats.slaResponseWarnedAt} is null`,
        ),
      )
      .returning();
  },

  /** Owned chats with no message from either side since `before` (inactivity auto-close). */
  async inactive(ex: Executor, before: Date, limit: number): Promise<SupportChatRow[]> {
    return ex
      .select()
      .from(supportChats)
      .where(and(inArray(supportChats.state, ['assigned', 'pending']), lte(sql`coalesce(${supportChats.lastActivityAt}, ${supportChats.assignedAt})`, before)))
      .limit(limit);
  },

  async people(ex: Executor, ids: string[]): Promise<Array<{ id: string; name: string; avatarUrl: string | null }>> {
    if (ids.length === 0) return [];
    return ex.select({ id: users.id, name: users.name, avatarUrl: users.avatarUrl }).from(users).where(inArray(users.id, [...new Set(ids)]));
  },
};
