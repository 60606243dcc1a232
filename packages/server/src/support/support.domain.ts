import type { OperatorStatus, SupportPriority, SupportState } from '@sohbet/protocol';

/**
 * Pure rules of live support: the state machine, queue order with aging, operator choice and the
 * wait estimate. No IO: the service applies these inside its atomic state changes (G5).
 */

/** Which transitions exist, and why (the `kind` is what the decision log records). */
export const TRANSITIONS: Record<string, { from: readonly SupportState[]; to: SupportState }> = {
  offer: { from: ['queued'], to: 'offered' },
  accept: { from: ['offered'], to: 'assigned' },
  decline: { from: ['offered'], to: 'queued' },
  offer_expired: { from: ['offered'], to: 'queued' },
  pick: { from: ['queued', 'offered'], to: 'assigned' },
  transfer: { from: ['assigned', 'pending', 'snoozed'], to: 'assigned' },
  /** To a team: back to the queue under the new topic, keeping the original queued_at. */
  transfer_team: { from: ['assigned', 'pending', 'snoozed'], to: 'queued' },
  park: { from: ['assigned', 'pending', 'snoozed'], to: 'pending' },
  snooze: { from: ['assigned', 'pending', 'snoozed'], to: 'snoozed' },
  resume: { from: ['assigned', 'pending', 'snoozed'], to: 'assigned' },
  resolve: { from: ['queued', 'offered', 'assigned', 'pending', 'snoozed'], to: 'resolved' },
  reopen: { from: ['resolved'], to: 'queued' },
  operator_gone: { from: ['offered', 'assigned', 'pending', 'snoozed'], to: 'queued' },
};
export type TransitionKind = keyof typeof TRANSITIONS;

export function canTransition(kind: TransitionKind, from: SupportState): boolean {
  return TRANSITIONS[kind]!.from.includes(from);
}

/** States in which a chat counts against its operator's capacity. */
export const HOLDING_STATES: readonly SupportState[] = ['offered', 'assigned', 'pending', 'snoozed'];
export const OWNED_STATES: readonly SupportState[] = ['assigned', 'pending', 'snoozed'];

export const PRIORITY_RANK: Record<SupportPriority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

export interface QueuedChat {
  id: string;
  topic: string;
  priority: SupportPriority;
  queuedAt: Date;
  declinedBy: readonly string[];
  /** Soft exclusions (offer expired, handed to a team): used only when nobody else is eligible. */
  skippedBy?: readonly string[];
}

/**
 * Effective priority: the priority rank plus one level per `agingMs` waited, so a low-priority chat
 * that has waited long enough overtakes newer high-priority ones and never starves.
 */
export function effectivePriority(c: Pick<QueuedChat, 'priority' | 'queuedAt'>, now: Date, agingMs: number): number {
  const waited = Math.max(0, now.getTime() - c.queuedAt.getTime());
  return PRIORITY_RANK[c.priority] + waited / agingMs;
}

/** Queue order: effective priority (priority with aging) first, then longest waiting, then id. */
export function orderQueue<T extends Pick<QueuedChat, 'id' | 'priority' | 'queuedAt'>>(chats: readonly T[], now: Date, agingMs: number): T[] {
  return [...chats].sort((a, b) => {
    const d = effectivePriority(b, now, agingMs) - effectivePriority(a, now, agingMs);
    if (Math.abs(d) > 1e-9) return d;
    const w = a.queuedAt.getTime() - b.queuedAt.getTime();
    return w !== 0 ? w : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

export interface OperatorLoad {
  userId: string;
  status: OperatorStatus;
  connected: boolean;
  maxChats: number;
  activeChats: number;
  topics: readonly string[];
  lastAssignedAt: Date | null;
}

export type ExclusionReason = 'status_away' | 'status_offline' | 'disconnected' | 'topic' | 'capacity' | 'declined' | 'skipped';

export interface RoutingDecision {
  candidates: string[];
  excluded: Array<{ operatorId: string; reason: ExclusionReason }>;
  winner: string | null;
}

export function serves(op: Pick<OperatorLoad, 'topics'>, topic: string): boolean {
  return op.topics.length === 0 || op.topics.includes(topic);
}

/**
 * Picks the operator for a chat: available, connected, serving the topic, with free capacity and
 * who has not declined it; least loaded first, ties to the one assigned least recently (never
 * assigned counts as longest ago), then by id for determinism. Records why everyone else lost.
 * A decline is final for this queue stay (the chat waits for someone else or a manual pick); an
 * expired offer only steers the chat elsewhere: when nobody else can take it, that operator is
 * asked again rather than the chat waiting while they have room.
 */
export function chooseOperator(chat: Pick<QueuedChat, 'topic' | 'declinedBy' | 'skippedBy'>, operators: readonly OperatorLoad[]): RoutingDecision {
  const excluded: RoutingDecision['excluded'] = [];
  const eligible: OperatorLoad[] = [];
  const skipped: OperatorLoad[] = [];
  for (const op of operators) {
    const reason: ExclusionReason | null =
      op.status === 'away' ? 'status_away'
      : op.status === 'offline' ? 'status_offline'
      : !op.connected ? 'disconnected'
      : !serves(op, chat.topic) ? 'topic'
      : op.activeChats >= op.maxChats ? 'capacity'
      : chat.declinedBy.includes(op.userId) ? 'declined'
      : null;
    if (reason) excluded.push({ operatorId: op.userId, reason });
    else if (chat.skippedBy?.includes(op.userId)) skipped.push(op);
    else eligible.push(op);
  }
  const pool = eligible.length > 0 ? eligible : skipped;
  if (eligible.length > 0 && skipped.length > 0) {
    for (const op of skipped) excluded.push({ operatorId: op.userId, reason: 'skipped' });
    const at = (id: string) => operators.findIndex((o) => o.userId === id);
    excluded.sort((x, y) => at(x.operatorId) - at(y.operatorId));
  }
  pool.sort((a, b) => {
    if (a.activeChats !== b.activeChats) return a.activeChats - b.activeChats;
    const ta = a.lastAssignedAt?.getTime() ?? -Infinity;
    const tb = b.lastAssignedAt?.getTime() ?? -Infinity;
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.userId < b.userId ? -1 : 1;
  });
  return { candidates: pool.map((o) => o.userId), excluded, winner: pool[0]?.userId ?? null };
}

/**
 * One routing pass over the whole queue, in memory: in queue order, each chat that someone can take
 * gets the operator `chooseOperator` picks, and that operator's slot is counted as taken for the
 * chats after it. The caller writes each plan as a conditional offer (G5: a claim that lost a race
 * rolls back only that offer).
 */
export function planOffers<C extends QueuedChat>(queue: readonly C[], loads: readonly OperatorLoad[], now: Date, agingMs: number): Array<{ chat: C; decision: RoutingDecision }> {
  const room = (o: OperatorLoad) => o.status === 'available' && o.connected && o.activeChats < o.maxChats;
  let view = [...loads];
  const plans: Array<{ chat: C; decision: RoutingDecision }> = [];
  for (const chat of orderQueue(queue, now, agingMs)) {
    if (!view.some(room)) break;
    const decision = chooseOperator(chat, view);
    if (!decision.winner) continue;
    plans.push({ chat, decision });
    view = view.map((o) => (o.userId === decision.winner ? { ...o, activeChats: o.activeChats + 1, lastAssignedAt: now } : o));
  }
  return plans;
}

/** True when a customer message at `at` reopens a chat resolved at `resolvedAt`. */
export function reopensAt(resolvedAt: Date | null, at: Date, windowMs: number): boolean {
  return resolvedAt !== null && at.getTime() >= resolvedAt.getTime() && at.getTime() - resolvedAt.getTime() <= windowMs;
}

/**
 * An honest wait estimate for the chat at 1-based `position`: from the measured mean handle time
 * and how many chats the serving operators can hold at once. A range, not a promise; null when
 * nothing has been measured yet or nobody can serve the topic.
 */
export function waitEstimate(position: number, meanHandleMs: number | null, parallelSlots: number): { minSeconds: number; maxSeconds: number } | null {
  if (meanHandleMs === null || parallelSlots <= 0 || position <= 0) return null;
  const mid = (position * meanHandleMs) / parallelSlots / 1000;
  return { minSeconds: Math.max(0, Math.floor(mid * 0.5)), maxSeconds: Math.ceil(mid * 1.5) + 30 };
}
