import type { ConversationContext, OperatorDTO, OperatorStatus, RoutingDecisionDTO, SupportChatDTO, SupportPriority } from '@sohbet/protocol';
import type { ChatDeps } from '../chat/conversations.service.ts';
import type { ConversationsService } from '../chat/conversations.service.ts';
import type { MessagesService } from '../chat/messages.service.ts';
import { chatRepo } from '../chat/chat.repo.ts';
import type { Config } from '../config/config.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Executor, Tx } from '../db/db.ts';
import type { Emit } from '../realtime/event-log.ts';
import { planOffers, reopensAt, serves, TRANSITIONS, OWNED_STATES, type OperatorLoad, type RoutingDecision, type TransitionKind } from './support.domain.ts';
import { operatorDTO, supportChatDTO } from './support.dto.ts';
import { supportEvents } from './support.events.ts';
import type { ErrorCode } from '@sohbet/protocol';
import { secondsBetween, type SupportMetrics } from './support.metrics.ts';
import { SupportNotices } from './support.notices.ts';
import { supportRepo as repo, type ChatPatch, type OperatorRow, type SupportChatRow } from './support.repo.ts';
import { SupportTimers } from './support.timers.ts';
import { routingRepo as routing, type RoutingView } from './support-routing.repo.ts';
import { chatViews, firstMessageViews, loadOf, peopleMap } from './support.views.ts';
import { normalizeText } from '../chat/chat.domain.ts';

export interface SupportDeps extends Pick<ChatDeps, 'database' | 'events' | 'clock' | 'limits'> {
  log: Logger;
  config: Config['support'];
  conversations: ConversationsService;
  messages: MessagesService;
  metrics: SupportMetrics;
}

/** Queue signals within this window are sent as one (see notifyQueue). */
export const QUEUE_SIGNAL_MS = 100;
/** Offers written in parallel by one drain pass (each is its own transaction; keep below the pool size). */
const OFFER_CONCURRENCY = 4;

const hasRoom = (o: OperatorLoad) => o.status === 'available' && o.connected && o.activeChats < o.maxChats;

interface Move {
  /** Operator whose capacity this change takes (conditional: available, connected, under the limit). */
  claim?: string | null;
  /** Operator whose capacity this change gives back. */
  release?: string | null;
  /** Error when the chat changed underneath us (another owner, another state). */
  stale: ErrorCode;
  /** Error when the claimed operator has no capacity or is not available. */
  full?: ErrorCode;
  /** Claim first and change the chat only if the claim won (nothing is written when it lost; see offerOnStart). */
  claimFirst?: boolean;
  /** With claimFirst: claim the first of these (best first) whose row is free now (see MoveSpec.claimAny). */
  claimAny?: readonly string[];
}

/**
 * Live support. Every change of a chat's owner — offer, accept, pick, transfer, reopen, operator
 * gone, resolve — goes through `move`: one transaction with a conditional chat update (state and
 * version) and a conditional capacity claim; if either matches no row, all of it rolls back (G5).
 */
export class SupportService {
  private readonly timers: SupportTimers;
  private readonly notices: SupportNotices;
  /** Names read by `move` for the row it returned, so the answer and notices need not read them again. */
  private readonly peopleOf = new WeakMap<SupportChatRow, Map<string, { id: string; name: string; avatarUrl: string | null }>>();
  /** Operators whose support_operators row is known to exist (a cache: losing it costs one upsert). */
  private readonly knownOperators = new Set<string>();
  constructor(private readonly d: SupportDeps) {
    this.timers = new SupportTimers(this, d);
    this.notices = new SupportNotices(d);
  }

  private get db() {
    return this.d.database.db;
  }
  private now() {
    return this.d.clock.now();
  }

  // ---- the one atomic state change (G5) ----

  /** Internal to the support feature (timers, desk): the one atomic state change. */
  async move(tx: Tx, emit: Emit, chat: SupportChatRow, kind: TransitionKind, patch: ChatPatch, m: Move, decision?: RoutingDecision): Promise<SupportChatRow> {
    const t = TRANSITIONS[kind]!;
    const ops = [m.claim, m.release].filter((x): x is string => !!x);
    if (m.claim && m.claim === m.release) return this.moveSteps(tx, emit, chat, kind, patch, m, decision);
    // Two operator rows (transfer): lock them in id order first so opposite transfers never deadlock;
    // one row is locked by its own conditional update.
    if (ops.length > 1) await repo.lockOperators(tx, ops);
    const r = await routing.move(tx, { id: chat.id, from: t.from, version: chat.version, set: { ...patch, state: patch.state ?? t.to }, claim: m.claim, release: m.release, claimFirst: m.claimFirst, claimAny: m.claimAny, decision: decision && { kind, decision }, now: this.now(), people: ops });
    const full = () => new AppError(m.full ?? 'support.capacity', 'the operator is not available or has no free capacity');
    if (m.claimFirst && !r.claimed) throw full(); // nothing was written
    if (!r.chat) throw new AppError(m.stale, 'the support chat changed; reload it');
    // The claim lost (no room, not available): throwing rolls back the chat update and the decision with the transaction.
    if (m.claim && !r.claimed) throw full();
    return this.announce(emit, chat, r.chat, [r.claimed, r.released], r.people);
  }

  /** A change's events: the chat to everyone it concerns (before and after), each operator row it changed to that operator. */
  private announce(emit: Emit, before: SupportChatRow, updated: SupportChatRow, operators: Array<OperatorRow | null>, people: Map<string, { id: string; name: string; avatarUrl: string | null }>): SupportChatRow {
    this.peopleOf.set(updated, people);
    supportEvents.chatUpdated(emit, [updated.customerId, updated.operatorId, updated.offeredTo, before.operatorId, before.offeredTo], supportChatDTO(updated, people));
    const seen = new Set<string>();
    for (const row of operators) {
      if (!row || seen.has(row.userId)) continue;
      seen.add(row.userId);
      supportEvents.operatorUpdated(emit, operatorDTO(row, people));
    }
    return updated;
  }

  /**
   * The same change as separate statements, for the one case the single statement cannot express:
   * claiming and releasing the same operator (a pick of a chat offered to the picker) — two updates
   * of one row in one statement would apply only one of them.
   */
  private async moveSteps(tx: Tx, emit: Emit, chat: SupportChatRow, kind: TransitionKind, patch: ChatPatch, m: Move, decision?: RoutingDecision): Promise<SupportChatRow> {
    const t = TRANSITIONS[kind]!;
    const updated = await repo.updateChat(tx, chat.id, t.from, chat.version, { ...patch, state: patch.state ?? t.to });
    if (!updated) throw new AppError(m.stale, 'the support chat changed; reload it');
    const claimed = await repo.claimSlot(tx, m.claim!, this.now());
    if (!claimed) throw new AppError(m.full ?? 'support.capacity', 'the operator is not available or has no free capacity');
    const released = await repo.releaseSlot(tx, m.release!, this.now());
    if (decision) await repo.insertDecision(tx, chat.id, kind, decision, this.now());
    const people = await this.people(tx, [updated.customerId, updated.operatorId, m.claim]);
    return this.announce(emit, chat, updated, [released ?? claimed], people);
  }

  /** Runs a state change; deadlocks and serialization failures between instances are retried. */
  async write<T>(fn: (tx: Tx, emit: Emit) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.d.events.write(fn);
      } catch (err) {
        const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
        if (attempt < 4 && (code === '40P01' || code === '40001')) continue;
        throw err;
      }
    }
  }

  async setMembership(tx: Tx, emit: Emit, chat: SupportChatRow, add: string | null, remove: string | null): Promise<void> {
    if (remove && remove !== add) {
      if (await chatRepo.removeMember(tx, chat.conversationId, remove)) emit([remove], 'chat.conversation.removed', { conversationId: chat.conversationId });
    }
    const all = add ? await routing.addMemberListing(tx, chat.conversationId, add) : (await chatRepo.members(tx, chat.conversationId)).map((x) => x.userId);
    await this.d.conversations.emitConversation(tx, emit, chat.conversationId, all);
  }

  // ---- customers ----

  /** Starts a support chat, or returns the open one for this customer and topic (a retry returns the same chat). */
  async start(customerId: string, input: { topic: string; text: string; clientId: string; context?: ConversationContext }): Promise<SupportChatDTO> {
    let chat = await routing.openChat(this.db, customerId, input.topic);
    if (!chat) {
      await this.d.limits.take('support.start', customerId);
      const id = `s_${newId('c').slice(2)}`;
      const conversationId = newId('c');
      const first = { conversationId, clientId: input.clientId, text: input.text };
      // The question is checked like any message (limits, the pre-send screen) before anything is stored.
      const verdict = await this.d.messages.admit(customerId, first);
      // The question as storeIn would store it (the text checks first: nothing is written for a bad one).
      let text = normalizeText(input.text, true)!;
      if (verdict) text = normalizeText(verdict.text, true)!;
      const created = await this.write(async (tx, emit) => {
        const now = this.now();
        const title = `Support · ${input.topic}`;
        const message = { id: newId('m'), clientId: input.clientId, text, redacted: verdict !== null && verdict !== undefined };
        // Conversation, chat, membership and the customer's question (the chat's first message) in one statement.
        const r = await routing.insertStart(tx, { id, conversationId, customerId, topic: input.topic, title, context: input.context ?? null, firstMessage: input.text, at: now, message });
        if (!r.conversationCreatedAt) return null;
        const row = r.chat;
        if (!row) throw new AppError('support.already_assigned', 'retry'); // a concurrent start won: roll back our conversation
        // The same events a send and a conversation update make, from what was just written (nothing to read back).
        const { message: stored, conversation } = firstMessageViews(customerId, { conversationId, title, context: input.context ?? null, topic: input.topic, createdAt: r.conversationCreatedAt, at: now, message }, r.people);
        await this.d.messages.storedIn(tx, emit, stored, [customerId]);
        emit([customerId], 'chat.conversation.updated', { conversation });
        supportEvents.chatUpdated(emit, [customerId], supportChatDTO(row, r.people));
        return { row, ...(await this.offerOnStart(tx, emit, row, r.view!)) };
      }).catch((err) => {
        if (err instanceof AppError && err.message === 'retry') return null;
        if ((err as { cause?: { code?: string } }).cause?.code === '23505' || (err as { code?: string }).code === '23505') return null;
        throw err;
      });
      if (created && !created.drain) {
        // Offered in its own transaction and nothing else was routable: no pass to run, no row to re-read.
        this.notifyQueue(created.row.topic);
        return this.viewOf(created.offered!);
      }
      chat = created?.row ?? (await routing.openChat(this.db, customerId, input.topic));
      if (!chat) throw new AppError('support.not_found', 'the support chat could not be opened');
    }
    await this.drain();
    this.notifyQueue(chat.topic);
    return this.view(customerId, chat.id);
  }

  /** The customer's support chats (open ones first), with queue position and wait estimate. */
  async mine(customerId: string): Promise<SupportChatDTO[]> {
    const list = await repo.customerChats(this.db, customerId);
    const dtos = await this.dtos(list);
    return dtos.sort((a, b) => Number(a.state === 'resolved') - Number(b.state === 'resolved'));
  }

  /** One chat: its customer and any operator may read it; anyone else gets support.not_found. */
  async view(actorId: string, chatId: string, isOperator = false): Promise<SupportChatDTO> {
    const found = await routing.chatWithPeople(this.db, chatId);
    if (!found || (found.chat.customerId !== actorId && !isOperator)) throw new AppError('support.not_found', 'no such support chat');
    // Only a queued chat has a place and a wait estimate to compute; any other is the row and its names.
    if (found.chat.state !== 'queued') return supportChatDTO(found.chat, found.people);
    return (await this.dtos([found.chat]))[0]!;
  }

  /** Called after every stored message: customer messages reopen a recently resolved chat; the owner's first reply is timed. */
  /**
   * Conversations known not to be support chats. A support chat is created in the same transaction
   * as its conversation, so a conversation without one never gets one: caching that answer saves a
   * query on every ordinary chat message (a cache only; losing it costs one query).
   */
  private readonly ordinaryConversations = new Set<string>();

  async onMessage(m: { conversationId: string; senderId: string | null; createdAt: string }): Promise<void> {
    if (!m.senderId || this.ordinaryConversations.has(m.conversationId)) return;
    const chat = await repo.chatByConversation(this.db, m.conversationId);
    if (!chat) {
      if (this.ordinaryConversations.size >= 100_000) this.ordinaryConversations.clear();
      this.ordinaryConversations.add(m.conversationId);
      return;
    }
    if (OWNED_STATES.includes(chat.state)) await repo.touchActivity(this.db, chat.id, new Date(m.createdAt));
    if (m.senderId === chat.operatorId && OWNED_STATES.includes(chat.state)) {
      if (!chat.firstResponseAt) {
        await repo.markFirstResponse(this.db, chat.id, new Date(m.createdAt));
        const s = secondsBetween(chat.assignedAt, new Date(m.createdAt));
        if (s !== null) this.d.metrics.timeToFirstResponse.observe({ topic: chat.topic, priority: chat.priority }, s);
      }
      return;
    }
    if (m.senderId !== chat.customerId || chat.state !== 'resolved') return;
    if (!reopensAt(chat.resolvedAt, new Date(m.createdAt), this.d.config.reopenWindowMs)) return;
    const prev = chat.operatorId;
    try {
      // Back to the operator who resolved it, if they still have room; otherwise to the queue.
      if (!prev) throw new AppError('support.capacity');
      await this.write(async (tx, emit) => {
        const decision = { candidates: [prev], excluded: [], winner: prev };
        await this.move(tx, emit, chat, 'reopen', { state: 'assigned', resolvedAt: null, assignedAt: this.now(), declinedBy: [], skippedBy: [] }, { claim: prev, stale: 'support.invalid_state' }, decision);
      });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      await this.write(async (tx, emit) => {
        const fresh = (await repo.chat(tx, chat.id))!;
        if (fresh.state !== 'resolved') return;
        const decision = { candidates: [], excluded: prev ? [{ operatorId: prev, reason: 'capacity' as const }] : [], winner: null };
        const moved = await this.move(tx, emit, fresh, 'reopen', { operatorId: null, resolvedAt: null, assignedAt: null, queuedAt: this.now(), declinedBy: [], skippedBy: [] }, { stale: 'support.invalid_state' }, decision);
        await this.setMembership(tx, emit, moved, null, prev);
      }).catch((e) => this.d.log.warn({ err: (e as Error).message, chatId: chat.id }, 'support reopen failed'));
      await this.drain();
    }
    this.notifyQueue(chat.topic);
  }

  // ---- operators ----

  async ensureOperator(userId: string): Promise<void> {
    if (this.knownOperators.has(userId)) return;
    await repo.ensureOperator(this.db, userId, this.d.config.defaultMaxChats);
    if (this.knownOperators.size >= 10_000) this.knownOperators.clear();
    this.knownOperators.add(userId);
  }

  async operatorState(userId: string): Promise<OperatorDTO> {
    await this.ensureOperator(userId);
    const row = (await repo.operator(this.db, userId))!;
    return operatorDTO(row, await this.people(this.db, [userId]));
  }

  async operators(): Promise<OperatorDTO[]> {
    const rows = await repo.operators(this.db);
    const people = await this.people(this.db, rows.map((r) => r.userId));
    return rows.map((r) => operatorDTO(r, people));
  }

  /** Status, capacity and topics. Going offline re-queues the operator's chats; more room drains the queue. */
  async updateOperator(userId: string, set: { status?: OperatorStatus; maxChats?: number; topics?: string[] }): Promise<OperatorDTO> {
    await this.ensureOperator(userId);
    const row = await this.write(async (tx, emit) => {
      const r = (await repo.updateOperator(tx, userId, set, this.now()))!;
      supportEvents.operatorUpdated(emit, operatorDTO(r, await this.people(tx, [userId])));
      return r;
    });
    if (set.status === 'offline') await this.timers.requeueHeld([userId]);
    await this.drain();
    this.notifyQueue('*');
    return this.operatorState(row.userId);
  }

  /** The queue as operators see it: waiting and offered chats in routing order. */
  async queue(): Promise<SupportChatDTO[]> {
    return this.dtos(await repo.waiting(this.db));
  }

  async myChats(operatorId: string): Promise<SupportChatDTO[]> {
    return this.dtos(await repo.heldBy(this.db, operatorId));
  }

  async decisions(chatId: string): Promise<RoutingDecisionDTO[]> {
    return (await repo.decisions(this.db, chatId)).map((x) => ({ at: x.createdAt.toISOString(), kind: x.kind, ...x.decision }));
  }

  /**
   * Accepts an offer made to this operator (its capacity was reserved by the offer). Nothing is read
   * first: the conditional update itself checks that the chat is offered to this operator (G5); only
   * when it matches nothing is the chat read, to answer why (or to pick a chat that went back to the queue).
   */
  async accept(operatorId: string, chatId: string): Promise<SupportChatDTO> {
    const moved = await this.write(async (tx, emit) => {
      const now = this.now();
      const r = await routing.move(tx, { id: chatId, from: TRANSITIONS.accept!.from, version: null, offeredTo: operatorId, set: { state: TRANSITIONS.accept!.to, operatorId, offeredTo: null, offerExpiresAt: null, assignedAt: now, lastActivityAt: now }, now, people: [operatorId] });
      if (!r.chat) return null;
      // An offered chat has no owner yet (every path back to the queue clears it), so "before" is the offer itself.
      const moved = this.announce(emit, { ...r.chat, operatorId: null, offeredTo: operatorId }, r.chat, [], r.people);
      await this.setMembership(tx, emit, moved, operatorId, null);
      await this.joined(tx, emit, moved, operatorId);
      return moved;
    });
    if (!moved) {
      const chat = await this.chatOr404(chatId);
      if (chat.state === 'queued') return this.pick(operatorId, chatId);
      throw new AppError(chat.state === 'resolved' ? 'support.invalid_state' : 'support.already_assigned', 'this chat is not offered to you');
    }
    this.observeAssigned(moved);
    this.notifyQueue(moved.topic);
    return this.viewOf(moved);
  }

  async decline(operatorId: string, chatId: string): Promise<SupportChatDTO> {
    const chat = await this.chatOr404(chatId);
    if (chat.state !== 'offered' || chat.offeredTo !== operatorId) throw new AppError('support.invalid_state', 'this chat is not offered to you');
    await this.write(async (tx, emit) => {
      await this.move(tx, emit, chat, 'decline', { offeredTo: null, offerExpiresAt: null, declinedBy: [...chat.declinedBy, operatorId] }, { release: operatorId, stale: 'support.invalid_state' });
    });
    await this.drain();
    this.notifyQueue(chat.topic);
    return this.view(operatorId, chatId, true);
  }

  /** Takes a waiting chat from the queue (an offer to someone else is withdrawn, their slot given back). */
  async pick(operatorId: string, chatId: string): Promise<SupportChatDTO> {
    const chat = await this.chatOr404(chatId);
    if (!['queued', 'offered'].includes(chat.state)) throw new AppError(chat.state === 'resolved' ? 'support.invalid_state' : 'support.already_assigned', 'this chat is not waiting');
    const moved = await this.write(async (tx, emit) => {
      const decision = { candidates: [operatorId], excluded: [], winner: operatorId, by: operatorId };
      const moved = await this.move(tx, emit, chat, 'pick', { state: 'assigned', operatorId, offeredTo: null, offerExpiresAt: null, assignedAt: this.now(), lastActivityAt: this.now() },
        { claim: operatorId, release: chat.state === 'offered' ? chat.offeredTo : null, stale: 'support.already_assigned', full: 'support.capacity' }, decision);
      await this.setMembership(tx, emit, moved, operatorId, null);
      await this.joined(tx, emit, moved, operatorId);
      return moved;
    });
    this.observeAssigned(chat);
    this.notifyQueue(chat.topic);
    return this.viewOf(moved);
  }

  /** Transfer to an operator (who must be available with room) or to a team: back to the queue for `toTopic`, at its original place. */
  async transfer(operatorId: string, input: { chatId: string; toOperatorId?: string; toTopic?: string; note?: string }): Promise<SupportChatDTO> {
    const chat = await this.owned(operatorId, input.chatId);
    return this.handOver(operatorId, chat, input);
  }

  /** Transfer by the owner or reassignment by a supervisor: the owner's slot is released, the target's claimed (G5). */
  async handOver(actorId: string, chat: SupportChatRow, input: { toOperatorId?: string; toTopic?: string; note?: string }): Promise<SupportChatDTO> {
    const from = chat.operatorId;
    if (input.toOperatorId !== undefined && input.toOperatorId === from) throw new AppError('input.invalid', 'the operator already owns this chat');
    const to = input.toOperatorId;
    // One open chat per customer and topic: moving to a team where this customer already waits would make two.
    const clash = input.toTopic && input.toTopic !== chat.topic ? await repo.openChat(this.db, chat.customerId, input.toTopic) : null;
    if (clash) throw new AppError('support.topic_conflict', 'the customer already has an open chat on that topic');
    const moved = await this.write(async (tx, emit) => {
      if (to) {
        const decision = { candidates: [to], excluded: [], winner: to, by: actorId, note: input.note ?? null };
        const moved = await this.move(tx, emit, chat, 'transfer', { state: 'assigned', operatorId: to, assignedAt: this.now(), lastActivityAt: this.now() },
          { claim: to, release: from, stale: 'support.already_assigned', full: 'support.operator_unavailable' }, decision);
        await this.setMembership(tx, emit, moved, to, from);
        await this.joined(tx, emit, moved, to);
        return moved;
      } else {
        const decision = { candidates: [], excluded: [], winner: null, by: actorId, note: input.note ?? null, toTopic: input.toTopic ?? null };
        const moved = await this.move(tx, emit, chat, 'transfer_team', { topic: input.toTopic!, operatorId: null, assignedAt: null, declinedBy: [], skippedBy: from ? [from] : [] },
          { release: from, stale: 'support.already_assigned' }, decision).catch((err: unknown) => {
          const pg = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
          throw pg === '23505' ? new AppError('support.topic_conflict', 'the customer already has an open chat on that topic') : err;
        });
        await this.setMembership(tx, emit, moved, null, from);
        await this.notices.notice(tx, emit, moved, 'support.transferred_team', `Transferred to ${input.toTopic}`, { topic: input.toTopic! });
        return moved;
      }
    });
    await this.drain();
    this.notifyQueue(input.toTopic ?? chat.topic);
    return this.view(actorId, chat.id, true);
  }

  async setState(operatorId: string, input: { chatId: string; state: 'assigned' | 'pending' | 'snoozed' }): Promise<SupportChatDTO> {
    const chat = await this.owned(operatorId, input.chatId);
    const kind: TransitionKind = input.state === 'pending' ? 'park' : input.state === 'snoozed' ? 'snooze' : 'resume';
    await this.write((tx, emit) => this.move(tx, emit, chat, kind, {}, { stale: 'support.invalid_state' }));
    return this.view(operatorId, input.chatId, true);
  }

  /** Resolves a chat (its owner, or any operator for a waiting one); the freed slot drains the queue. */
  async resolve(operatorId: string, chatId: string): Promise<SupportChatDTO> {
    // One statement reads, checks and resolves (no read first); the same events, notice and drain as close().
    const now = this.now();
    const decision = { candidates: [], excluded: [], winner: null, by: operatorId, reason: null };
    const done = await this.write(async (tx, emit) => {
      const notice = { id: newId('m'), code: 'support.resolved', text: 'Resolved' };
      const r = await routing.resolve(tx, { id: chatId, by: operatorId, now, decision, notice });
      if (!r.before) throw new AppError('support.not_found', 'no such support chat');
      if (!r.chat) {
        if (OWNED_STATES.includes(r.before.state) && r.before.operatorId !== operatorId) throw new AppError('support.already_assigned', 'another operator owns this chat');
        throw new AppError('support.invalid_state', 'the support chat changed; reload it');
      }
      const moved = this.announce(emit, r.before, r.chat, [r.released], r.people);
      // The "Resolved" notice was stored by the same statement (as SupportNotices.notice would store it).
      const n = r.notice!;
      const row = { conversationId: moved.conversationId, seq: n.seq, id: notice.id, clientId: n.clientId, senderId: null, kind: 'system' as const, text: notice.text,
        payload: { type: 'notice' as const, code: notice.code, params: {} }, replyToSeq: null, forwarded: false, createdAt: now, editedAt: null, deletedAt: null };
      await this.d.messages.storedIn(tx, emit, row, n.memberIds);
      return { before: r.before, moved };
    });
    await this.closed(done.before, now);
    return this.viewOf(done.moved);
  }

  /** After a resolve commits: the handle time, a drain for the freed slot, the queue signal. */
  private async closed(chat: SupportChatRow, now: Date): Promise<void> {
    const handle = secondsBetween(chat.assignedAt, now);
    if (handle !== null && OWNED_STATES.includes(chat.state)) this.d.metrics.handleTime.observe({ topic: chat.topic, priority: chat.priority }, handle);
    await this.drain();
    this.notifyQueue(chat.topic);
  }

  /** Resolves (an operator, or the inactivity timer): the holder's slot freed, a "resolved" notice, the queue drained. */
  async close(chat: SupportChatRow, holder: string | null, why: { by?: string; reason?: string }): Promise<SupportChatRow> {
    const now = this.now();
    const decision = { candidates: [], excluded: [], winner: null, by: why.by ?? null, reason: why.reason ?? null };
    const moved = await this.write(async (tx, emit) => {
      const moved = await this.move(tx, emit, chat, 'resolve', { resolvedAt: now, offeredTo: null, offerExpiresAt: null }, { release: holder, stale: 'support.invalid_state' }, decision);
      await this.notices.notice(tx, emit, moved, 'support.resolved', why.reason === 'inactivity' ? 'Resolved after inactivity' : 'Resolved', why.reason ? { reason: why.reason } : {});
      return moved;
    });
    await this.closed(chat, now);
    return moved;
  }

  /** Operators and the host backend (server API) change a chat's priority; the queue is re-ordered. */
  async setPriority(chatId: string, priority: SupportPriority): Promise<SupportChatDTO> {
    const chat = await this.chatOr404(chatId);
    await this.write(async (tx, emit) => {
      const r = (await repo.setPriority(tx, chatId, priority))!;
      supportEvents.chatUpdated(emit, [r.customerId, r.operatorId, r.offeredTo], supportChatDTO(r, await this.people(tx, [r.customerId, r.operatorId])));
    });
    await this.drain();
    this.notifyQueue(chat.topic);
    return this.view(chat.customerId, chatId);
  }

  // ---- connectivity and durable timers ----

  /** The operator's last socket closed: the grace timer starts (stored, so any instance can fire it). */
  async onDisconnected(userId: string, at: Date): Promise<void> {
    await repo.updateOperator(this.db, userId, { disconnectedAt: at, seenAt: at }, at);
  }

  async onConnected(userId: string): Promise<void> {
    const r = await repo.updateOperator(this.db, userId, { disconnectedAt: null, seenAt: this.now() }, this.now());
    if (r?.status === 'available') await this.drain();
  }

  /** This instance still holds these operators' sockets (the durable last-seen a crash leaves stale). */
  async heartbeat(operatorIds: string[]): Promise<void> {
    await repo.markSeen(this.db, operatorIds, this.now());
  }

  /** Fires due timers (offers, grace, crashed instances, SLA, inactivity); see SupportTimers. */
  sweep(): Promise<void> {
    return this.timers.sweep();
  }

  private running: Promise<void> | null = null;
  private again: Promise<void> | null = null;

  /**
   * Offers waiting chats, in queue order, to the best operator with room. Coalesced per instance
   * (a call during a pass waits for the next pass); across instances the atomic claims keep it safe.
   */
  drain(): Promise<void> {
    if (!this.running) {
      this.running = this.drainPass().finally(() => (this.running = null));
      return this.running;
    }
    this.again ??= this.running.then(() => {
      this.again = null;
      return this.drain();
    });
    return this.again;
  }

  /**
   * One pass: routing decisions for the whole queue are made in memory against the operators' loads
   * as read once (each decision takes a slot in that view), then the offers are written a few at a
   * time in parallel — each its own atomic move with the conditional capacity claim (G5), so a
   * claim that loses a race (another instance, a status change) only rolls back that offer; the
   * pass then re-reads the loads and routes what is left (bounded rounds).
   */
  private async drainPass(): Promise<void> {
    const topics = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const now = this.now();
      // Nobody with a free slot: nothing can be offered, so the queue is not read at all (a full
      // desk under load would otherwise re-read every waiting chat on every event).
      const view = await routing.routingView(this.db);
      if (!view.queue || !view.loads.some(hasRoom)) break;
      const plans = planOffers(view.queue, view.loads, now, this.d.config.agingMs);
      if (plans.length === 0) break;
      let lost = false;
      let next = 0;
      const offerOne = async () => {
        while (next < plans.length) {
          const { chat, decision } = plans[next++]!;
          try {
            await this.write((tx, emit) => this.offer(tx, emit, chat, decision, now));
            topics.add(chat.topic);
          } catch (err) {
            if (err instanceof AppError) lost = true; // lost a race: the next round re-reads who has room
            else this.d.log.warn({ err: (err as Error).message, chatId: chat.id }, 'support offer failed');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(OFFER_CONCURRENCY, plans.length) }, offerOne));
      if (!lost) break;
    }
    for (const t of topics) this.notifyQueue(t);
  }

  private offer(tx: Tx, emit: Emit, chat: SupportChatRow, decision: RoutingDecision, now: Date, claimFirst = false): Promise<SupportChatRow> {
    const patch = { offeredTo: decision.winner, offerExpiresAt: new Date(now.getTime() + this.d.config.offerTimeoutMs) };
    // A start's offer (claimFirst) may go to any of the candidates, best first, whose row is not held by another start right now.
    const claimAny = claimFirst ? decision.candidates : undefined;
    return this.move(tx, emit, chat, 'offer', patch, { claim: decision.winner, stale: 'support.invalid_state', claimFirst, claimAny }, decision);
  }

  /**
   * The routing pass a start makes inside its own transaction, on the view its insert statement read
   * (with the new chat added to the queue it saw): when
   * the plan gives the new chat an operator, the offer is written right there — the capacity claim
   * first, the chat update only if it won, so a lost claim leaves the chat queued instead of failing
   * the start (G5 as in every move). `drain`: whether a pass after commit is still needed — always,
   * unless the new chat was offered and nothing else in the queue could be (another instance's
   * change committed meanwhile is seen by that instance's own pass after its commit).
   */
  private async offerOnStart(tx: Tx, emit: Emit, chat: SupportChatRow, view: RoutingView): Promise<{ offered: SupportChatRow | null; drain: boolean }> {
    const now = this.now();
    if (!view.queue || !view.loads.some(hasRoom)) return { offered: null, drain: true };
    const plans = planOffers(view.queue, view.loads, now, this.d.config.agingMs);
    const mine = plans.find((p) => p.chat.id === chat.id);
    if (!mine) return { offered: null, drain: true };
    const offered = await this.offer(tx, emit, chat, mine.decision, now, true).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'support.capacity') return null; // the claim lost a race: the chat stays queued
      throw err;
    });
    return { offered, drain: !offered || plans.length > 1 };
  }

  // ---- reading ----

  async chatOr404(chatId: string): Promise<SupportChatRow> {
    const chat = await routing.chat(this.db, chatId);
    if (!chat) throw new AppError('support.not_found', 'no such support chat');
    return chat;
  }

  private async owned(operatorId: string, chatId: string): Promise<SupportChatRow> {
    const chat = await this.chatOr404(chatId);
    if (!OWNED_STATES.includes(chat.state)) throw new AppError('support.invalid_state', `the chat is ${chat.state}`);
    if (chat.operatorId !== operatorId) throw new AppError('support.already_assigned', 'another operator owns this chat');
    return chat;
  }

  people(ex: Executor, ids: Array<string | null | undefined>) {
    return peopleMap(ex, ids);
  }

  /** The chat as a change just left it: from the names `move` read, else like `view`. */
  private async viewOf(row: SupportChatRow): Promise<SupportChatDTO> {
    const people = this.peopleOf.get(row);
    if (people && row.state !== 'queued') return supportChatDTO(row, people);
    return (await this.dtos([row]))[0]!;
  }

  dtos(list: SupportChatRow[]): Promise<SupportChatDTO[]> {
    return chatViews(this.db, this.now(), this.d.config.agingMs, list);
  }

  /** Time to assign, observed by the instance that made the assignment. */
  private observeAssigned(chat: SupportChatRow): void {
    const s = secondsBetween(chat.queuedAt, this.now());
    if (s !== null) this.d.metrics.timeToAssign.observe({ topic: chat.topic, priority: chat.priority }, s);
  }

  private joined(tx: Tx, emit: Emit, chat: SupportChatRow, operatorId: string): Promise<void> {
    return this.notices.joined(tx, emit, chat, operatorId, this.peopleOf.get(chat)?.get(operatorId)?.name);
  }

  private readonly queueTopics = new Set<string>();
  private queueTimer: NodeJS.Timeout | null = null;

  /**
   * Tells operators and waiting customers the queue moved (ephemeral; they re-read it). Coalesced:
   * changes within QUEUE_SIGNAL_MS make one signal per topic, sent to the operators serving that
   * topic and the customers waiting in it — not one broadcast to everyone per change, each making
   * every console re-read the queue. Losing a pending signal in a crash is harmless: clients
   * re-read on reconnect.
   */
  notifyQueue(topic: string): void {
    this.queueTopics.add(topic);
    if (this.queueTimer) return;
    this.queueTimer = setTimeout(() => {
      this.queueTimer = null;
      const topics = this.queueTopics.has('*') ? ['*'] : [...this.queueTopics];
      this.queueTopics.clear();
      void this.signalQueue(topics).catch(() => {});
    }, QUEUE_SIGNAL_MS);
    this.queueTimer.unref?.();
  }

  private async signalQueue(topics: string[]): Promise<void> {
    const { operators: ops, waiting } = await routing.signalTargets(this.db);
    for (const topic of topics) {
      const all = topic === '*';
      const to = [...ops.filter((o) => all || serves(o, topic)).map((o) => o.userId), ...waiting.filter((c) => all || c.topic === topic).map((c) => c.customerId)];
      supportEvents.queueChanged(this.d.events, to, topic);
    }
  }
}
