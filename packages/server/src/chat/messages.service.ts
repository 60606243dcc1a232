import type { HistoryPage, MessageDTO, MessagePayload, SendInput } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Executor, Tx } from '../db/db.ts';
import type { Emit } from '../realtime/event-log.ts';
import { assertCanDeleteForEveryone, assertCanEdit, normalizeText } from './chat.domain.ts';
import { messageDTO, reactionSummary } from './chat.dto.ts';
import { chatRepo as repo, type MessageRow } from './chat.repo.ts';
import type { ChatDeps, ConversationsService } from './conversations.service.ts';
import { SendBatcher } from './send-batcher.ts';
import { GroupCommit, type Submitted } from '../core/group-commit.ts';

/** What media gives the message path: claim uploads into a message, drop files of a deleted one. */
export interface AttachmentHooks {
  attach(tx: Tx, q: { actorId: string; conversationId: string; ids: string[]; seq: number }): Promise<{ kind: MessageRow['kind']; payload: MessagePayload }>;
  onMessageDeleted(tx: Tx, conversationId: string, seq: number): Promise<void>;
  /** A forward of a message with attachments: the new message's own attachments, sharing the stored files. */
  forward(tx: Tx, q: { from: { conversationId: string; seq: number }; conversationId: string; seq: number; ids: string[] }): Promise<MessagePayload>;
}

/** What the pre-send check sees of a new (or edited) message. */
export interface ScreenedMessage {
  conversationId: string;
  /** The sender's id for the message (null for an edit). */
  clientId: string | null;
  type: 'text' | 'listing' | 'media' | 'forward' | 'edit';
  /** The text as the sender typed it (a caption for media; the source's text for a forward). */
  text: string | null;
  /** The edited message's seq (edits only). */
  seq?: number;
}

/** The host's pre-send check (safety): null = allow; `{ text }` = store this text instead; throws to refuse. */
export interface SendScreen {
  screen(actorId: string, message: ScreenedMessage): Promise<{ text: string } | null>;
}

/** A system notice: English text for old clients, a code and params that apps translate. */
export interface SystemNotice {
  clientId: string;
  text: string;
  code?: string;
  params?: Record<string, string>;
}

interface ReceiptItem {
  actorId: string;
  conversationId: string;
  read: number;
  delivered: number;
}

const TYPING_TTL_MS = 6000;
/** Typing signals closer together than this are dropped (clients send one every ~3 s while typing). */
const TYPING_THROTTLE_MS = 2000;

/** Messages: send (G1, G2), history, edit, delete, reactions, forward, receipts (G4), typing, search. */
export class MessagesService {
  private readonly batcher: SendBatcher;
  private readonly receipts = new GroupCommit<ReceiptItem, void>((batch) => this.writeReceipts(batch));

  constructor(
    private readonly d: ChatDeps,
    private readonly conversations: ConversationsService,
  ) {
    this.batcher = new SendBatcher(d, (actorId, input) => this.sendOne(actorId, input));
  }

  private get db() {
    return this.d.database.db;
  }

  /**
   * Stores a message and fans it out. The seq is taken under the conversation row's lock in the
   * insert transaction (G1). The same clientId returns the stored message, never a duplicate (G2).
   */
  async send(actorId: string, input: SendInput): Promise<MessageDTO> {
    // Forwards and attachments are rarer and touch other tables: they take the single-message path.
    const m = (await this.retryOverLimit(actorId, input)) ?? (await this.screenAndStore(actorId, input));
    for (const l of this.sentListeners) l(m);
    return m;
  }

  private async screenAndStore(actorId: string, input: SendInput): Promise<MessageDTO> {
    const verdict = await this.screened(actorId, input);
    // Rewritten messages are rare: they take the single-message path, which marks them redacted.
    if (verdict) return this.sendOne(actorId, input, verdict.text);
    return input.forward || input.attachmentIds ? this.sendOne(actorId, input) : this.batcher.send(actorId, input);
  }

  private screen: SendScreen | null = null;

  /** Wires the host's pre-send hook in (safety): every new message is screened before it is stored. */
  useScreen(screen: SendScreen): void {
    this.screen = screen;
  }

  /** The screen's verdict for a new message: null = store as sent; throws when refused. */
  private async screened(actorId: string, input: SendInput): Promise<{ text: string } | null> {
    if (!this.screen) return null;
    // G2: a retry of a stored message is answered from the store and never screened twice.
    if (await repo.messageByClientId(this.db, input.conversationId, input.clientId)) return null;
    let text = input.text ?? null;
    if (input.forward) {
      const member = await repo.member(this.db, input.forward.conversationId, actorId);
      const src = member ? await repo.message(this.db, input.forward.conversationId, input.forward.seq) : null;
      // Not visible to the sender: the store path refuses it with its own typed error.
      if (!member || !src || src.seq <= member.joinedSeq) return null;
      text = src.text;
    }
    const type = input.forward ? 'forward' : input.attachmentIds ? 'media' : input.payload ? 'listing' : 'text';
    return this.screen.screen(actorId, { conversationId: input.conversationId, clientId: input.clientId, type, text });
  }

  /** Applies the sender's message limits; over them, a retry of a stored message is still answered (G2). */
  private async retryOverLimit(actorId: string, input: SendInput): Promise<MessageDTO | null> {
    try {
      await this.d.limits.message(actorId, input.text);
      return null;
    } catch (err) {
      const prior = await repo.messageByClientId(this.db, input.conversationId, input.clientId);
      if (prior) return this.existing(actorId, prior);
      throw err;
    }
  }

  private readonly sentListeners: Array<(m: MessageDTO) => void> = [];
  private attachments: AttachmentHooks | null = null;

  /** Wires media in (services.ts): messages with attachmentIds claim the uploads in their transaction. */
  useAttachments(hooks: AttachmentHooks): void {
    this.attachments = hooks;
  }

  /** Runs after a message is stored (and on a retry that returns it); other features react here (support reopen). */
  onSent(listener: (m: MessageDTO) => void): void {
    this.sentListeners.push(listener);
  }

  /** The single-message path: used alone at low load, for forwards, and to retry a failed batch. */
  private async sendOne(actorId: string, input: SendInput, redactedText?: string): Promise<MessageDTO> {
    const prior = await repo.messageByClientId(this.db, input.conversationId, input.clientId);
    if (prior) return this.existing(actorId, prior);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.d.events.write((tx, emit) => this.storeIn(tx, emit, actorId, input, redactedText));
      } catch (err) {
        // A concurrent retry with the same clientId committed first: return its message (G2).
        if (isUniqueViolation(err)) {
          const stored = await repo.messageByClientId(this.db, input.conversationId, input.clientId);
          if (stored) return this.existing(actorId, stored);
        }
        // Chosen as a deadlock's victim (a send takes the conversation, then the sender's member
        // row; a membership change may hold that row and wait for the conversation): nothing was
        // stored, so the send runs again.
        if (attempt < 3 && isRetryable(err)) continue;
        throw err;
      }
    }
  }

  /**
   * Another feature's first message, stored in that feature's transaction (support: the customer's
   * question commits with the new chat). `admit` it first — limits and the pre-send screen run
   * outside any transaction — then store it with the verdict. Nothing is announced to onSent
   * listeners: the caller is the feature that would react.
   */
  async admit(actorId: string, input: SendInput): Promise<{ text: string } | null> {
    await this.d.limits.message(actorId, input.text);
    return this.screened(actorId, input);
  }

  /** The message's checks and rows in the caller's transaction (membership, blocks, reply, seq, marks, event). */
  async storeIn(tx: Tx, emit: Emit, actorId: string, input: SendInput, redactedText?: string): Promise<MessageDTO> {
    const members = await repo.members(tx, input.conversationId);
    if (!members.some((m) => m.userId === actorId)) throw new AppError('chat.not_member', 'you are not a member of this conversation');
    const conv = (await repo.conversation(tx, input.conversationId))!;
    if (conv.kind === 'direct') {
      const peer = members.find((m) => m.userId !== actorId);
      if (peer && (await repo.blockedBetween(tx, actorId, peer.userId)).bBlockedA) throw new AppError('chat.blocked', 'this user does not accept your messages');
    }
    let kind: MessageRow['kind'] = 'text';
    let text: string | null;
    let payload: MessagePayload | null = input.payload ?? null;
    let forwarded = false;
    if (input.forward) {
      const src = await this.forwardSource(tx, actorId, input.forward);
      ({ kind, text, payload } = src);
      forwarded = true;
    } else {
      text = normalizeText(input.text, !payload && !input.attachmentIds);
      if (payload) kind = 'listing';
    }
    if (redactedText !== undefined) text = normalizeText(redactedText, true);
    let replyTo: MessageRow | null = null;
    if (input.replyToSeq !== undefined) {
      replyTo = await repo.message(tx, conv.id, input.replyToSeq);
      const me = members.find((m) => m.userId === actorId)!;
      if (!replyTo || replyTo.seq <= me.joinedSeq) throw new AppError('chat.message_not_found', 'the message you reply to does not exist');
    }
    const now = this.d.clock.now();
    const seq = await repo.nextSeq(tx, conv.id, now);
    if (input.forward && payload?.type === 'media') {
      if (!this.attachments) throw new AppError('media.not_found', 'attachments are not available on this server');
      const ids = payload.attachments.map((a) => a.id);
      payload = await this.attachments.forward(tx, { from: input.forward, conversationId: conv.id, seq, ids });
    }
    if (input.attachmentIds) {
      if (!this.attachments) throw new AppError('media.not_found', 'attachments are not available on this server');
      ({ kind, payload } = await this.attachments.attach(tx, { actorId, conversationId: conv.id, ids: input.attachmentIds, seq }));
    }
    const row: MessageRow = {
      conversationId: conv.id, seq, id: newId('m'), clientId: input.clientId, senderId: actorId, kind, text, payload,
      replyToSeq: replyTo?.seq ?? null, forwarded, createdAt: now, editedAt: null, deletedAt: null,
    };
    await repo.insertMessages(tx, [row]);
    if (redactedText !== undefined) {
      await repo.markRedacted(tx, conv.id, seq);
      row.redacted = true;
    }
    // Sending marks everything up to your own message as read by you.
    await repo.raiseMarks(tx, conv.id, actorId, { read: seq, delivered: seq });
    const dto = messageDTO(row, [], replyTo);
    emit(members.map((m) => m.userId), 'chat.message.created', { message: dto });
    await this.d.webhooks?.enqueue(tx, 'message.created', { message: dto });
    return dto;
  }

  /**
   * The event and webhook of a message another feature stored itself in the caller's transaction,
   * as storeIn sends them (support: a new chat's first message, stored with the chat in one statement).
   */
  async storedIn(tx: Tx, emit: Emit, row: MessageRow, recipients: readonly string[]): Promise<MessageDTO> {
    const dto = messageDTO(row);
    emit(recipients, 'chat.message.created', { message: dto });
    await this.d.webhooks?.enqueue(tx, 'message.created', { message: dto });
    return dto;
  }

  /** A system notice posted by the host backend (server API); a retry with the same clientId returns the stored one (G2). */
  async sendSystem(conversationId: string, input: SystemNotice): Promise<MessageDTO> {
    const prior = await repo.messageByClientId(this.db, conversationId, input.clientId);
    if (prior) return messageDTO(prior);
    return this.d.events.write((tx, emit) => this.systemIn(tx, emit, conversationId, input));
  }

  /**
   * A system notice stored in the caller's transaction, so it commits with the change it tells of
   * (support: "joined", "resolved"). The clientId must be new to the conversation: a duplicate
   * fails the whole transaction.
   */
  async systemIn(tx: Tx, emit: Emit, conversationId: string, input: SystemNotice): Promise<MessageDTO> {
    const now = this.d.clock.now();
    const fields: Omit<MessageRow, 'seq'> = {
      conversationId, id: newId('m'), clientId: input.clientId, senderId: null, kind: 'system',
      text: normalizeText(input.text, true), payload: input.code ? { type: 'notice', code: input.code, params: input.params } : null,
      replyToSeq: null, forwarded: false, createdAt: now, editedAt: null, deletedAt: null,
    };
    // Seq, row and the members to tell in one statement, under the conversation's row lock; a missing conversation is chat.not_found.
    const { seq, memberIds } = await repo.appendMessageToMembers(tx, fields);
    const row: MessageRow = { ...fields, seq };
    const dto = messageDTO(row);
    emit(memberIds, 'chat.message.created', { message: dto });
    await this.d.webhooks?.enqueue(tx, 'message.created', { message: dto });
    return dto;
  }

  private async existing(actorId: string, m: MessageRow): Promise<MessageDTO> {
    if (m.senderId !== actorId) throw new AppError('chat.client_id_conflict', 'this clientId belongs to another message');
    const [withExtras] = await this.decorate(this.db, m.conversationId, [m]);
    return withExtras!;
  }

  private async forwardSource(tx: Tx, actorId: string, ref: { conversationId: string; seq: number }) {
    const member = await this.conversations.requireMember(tx, ref.conversationId, actorId);
    const src = await repo.message(tx, ref.conversationId, ref.seq);
    if (!src || src.seq <= member.joinedSeq || src.kind === 'system') throw new AppError('chat.message_not_found', 'the message to forward does not exist');
    if (src.deletedAt) throw new AppError('chat.deleted', 'the message to forward was deleted');
    // Attachments are forwarded as new attachments of the target conversation (see MediaService.forward).
    return { kind: src.kind, text: src.text, payload: src.payload };
  }

  async history(actorId: string, q: { conversationId: string; before?: number; after?: number; limit: number }): Promise<HistoryPage> {
    const me = await this.conversations.requireMember(this.db, q.conversationId, actorId);
    const list = await repo.history(this.db, { ...q, userId: actorId, floorSeq: me.joinedSeq, limit: q.limit + 1 });
    // hasMore points in the paging direction: older messages for `before` (or the latest page), newer ones for `after`.
    const fromOldest = q.after !== undefined && q.before === undefined;
    const hasMore = list.length > q.limit;
    if (hasMore) fromOldest ? list.pop() : list.shift();
    return { messages: await this.decorate(this.db, q.conversationId, list), hasMore };
  }

  /** Adds reactions and reply previews to a page of messages. */
  private async decorate(ex: Executor, conversationId: string, list: MessageRow[]): Promise<MessageDTO[]> {
    const seqs = list.map((m) => m.seq);
    const replySeqs = [...new Set(list.flatMap((m) => (m.replyToSeq !== null ? [m.replyToSeq] : [])))];
    const reacts = await repo.reactions(ex, conversationId, seqs);
    const replies = await repo.messagesBySeq(ex, conversationId, replySeqs);
    const replyBy = new Map(replies.map((r) => [r.seq, r]));
    return list.map((m) => messageDTO(m, reactionSummary(reacts.filter((r) => r.seq === m.seq)), m.replyToSeq !== null ? (replyBy.get(m.replyToSeq) ?? null) : null));
  }

  async edit(actorId: string, input: { conversationId: string; seq: number; text: string }): Promise<MessageDTO> {
    // An edit is screened like a new message (else "hi" could become a phone number after the check).
    const verdict = this.screen ? await this.screen.screen(actorId, { conversationId: input.conversationId, clientId: null, type: 'edit', text: input.text, seq: input.seq }) : null;
    return this.d.events.write(async (tx, emit) => {
      const members = await this.membersOrForbid(tx, input.conversationId, actorId);
      // An edit reaches the peer like a message does: not someone who blocked you.
      await this.refuseIfBlockedByPeer(tx, input.conversationId, actorId, members);
      const msg = await this.visibleMessage(tx, input.conversationId, input.seq, members.find((m) => m.userId === actorId)!.joinedSeq);
      assertCanEdit(msg, actorId, this.d.clock.now(), this.d.editWindowMs);
      const text = normalizeText(verdict ? verdict.text : input.text, true);
      const editedAt = this.d.clock.now();
      await repo.updateMessage(tx, input.conversationId, input.seq, { text, editedAt });
      if (verdict) await repo.markRedacted(tx, input.conversationId, input.seq);
      const [dto] = await this.decorate(tx, input.conversationId, [{ ...msg, text, editedAt, redacted: msg.redacted || verdict !== null }]);
      emit(members.map((m) => m.userId), 'chat.message.updated', { message: dto! });
      await this.d.webhooks?.enqueue(tx, 'message.updated', { message: dto });
      return dto!;
    });
  }

  async delete(actorId: string, input: { conversationId: string; seq: number; scope: 'everyone' | 'me' }): Promise<void> {
    await this.d.events.write(async (tx, emit) => {
      const members = await this.membersOrForbid(tx, input.conversationId, actorId);
      const me = members.find((m) => m.userId === actorId)!;
      const msg = await this.visibleMessage(tx, input.conversationId, input.seq, me.joinedSeq);
      if (input.scope === 'me') {
        await repo.hideMessage(tx, actorId, input.conversationId, input.seq);
        emit([actorId], 'chat.message.deleted', { conversationId: input.conversationId, seq: input.seq, scope: 'me', deletedAt: this.d.clock.now().toISOString() });
        return;
      }
      assertCanDeleteForEveryone(msg, actorId, me.role);
      const deletedAt = this.d.clock.now();
      await repo.updateMessage(tx, input.conversationId, input.seq, { text: null, payload: null, deletedAt });
      await repo.deleteReactions(tx, input.conversationId, input.seq);
      await this.attachments?.onMessageDeleted(tx, input.conversationId, input.seq);
      emit(members.map((m) => m.userId), 'chat.message.deleted', { conversationId: input.conversationId, seq: input.seq, scope: 'everyone', deletedAt: deletedAt.toISOString() });
      await this.d.webhooks?.enqueue(tx, 'message.deleted', { conversationId: input.conversationId, seq: input.seq });
    });
  }

  /**
   * Deletes a message for everyone on a moderator's decision (safety), inside the caller's
   * transaction: the same effects as the author's delete. False when it was already deleted.
   */
  async removeForEveryone(tx: Tx, emit: Emit, conversationId: string, seq: number): Promise<boolean> {
    const msg = await repo.message(tx, conversationId, seq);
    if (!msg || msg.deletedAt) return false;
    const members = await repo.members(tx, conversationId);
    const deletedAt = this.d.clock.now();
    await repo.updateMessage(tx, conversationId, seq, { text: null, payload: null, deletedAt });
    await repo.deleteReactions(tx, conversationId, seq);
    await this.attachments?.onMessageDeleted(tx, conversationId, seq);
    emit(members.map((m) => m.userId), 'chat.message.deleted', { conversationId, seq, scope: 'everyone', deletedAt: deletedAt.toISOString() });
    await this.d.webhooks?.enqueue(tx, 'message.deleted', { conversationId, seq });
    return true;
  }

  async react(actorId: string, input: { conversationId: string; seq: number; emoji: string; on: boolean }): Promise<void> {
    await this.d.events.write(async (tx, emit) => {
      const members = await this.membersOrForbid(tx, input.conversationId, actorId);
      // A reaction reaches the peer like a message does (removing one's own is always allowed).
      if (input.on) await this.refuseIfBlockedByPeer(tx, input.conversationId, actorId, members);
      const msg = await this.visibleMessage(tx, input.conversationId, input.seq, members.find((m) => m.userId === actorId)!.joinedSeq);
      if (msg.deletedAt) throw new AppError('chat.deleted', 'the message was deleted');
      const changed = await repo.setReaction(tx, { conversationId: input.conversationId, seq: input.seq, userId: actorId, emoji: input.emoji }, input.on);
      if (!changed) return;
      const reactions = reactionSummary(await repo.reactions(tx, input.conversationId, [input.seq]));
      emit(members.map((m) => m.userId), 'chat.reaction.updated', { conversationId: input.conversationId, seq: input.seq, reactions });
    });
  }

  /** Read receipt: raises the member's last_read_seq (and delivered); unread = last_seq - last_read_seq (G4). */
  async markRead(actorId: string, input: { conversationId: string; seq: number }): Promise<void> {
    await this.mark(actorId, input.conversationId, { read: input.seq, delivered: input.seq });
  }

  /** Delivery receipt: a device of the member received messages up to `seq`. */
  async markDelivered(actorId: string, input: { conversationId: string; seq: number }): Promise<void> {
    await this.mark(actorId, input.conversationId, { delivered: input.seq });
  }

  private mark(actorId: string, conversationId: string, marks: { read?: number; delivered: number }): Promise<void> {
    return this.receipts.submit({ actorId, conversationId, read: marks.read ?? 0, delivered: marks.delivered });
  }

  /**
   * Receipts in bulk: every device acknowledges what it receives, so under load thousands of
   * marks a second are coalesced (highest mark per member wins) into one transaction per batch.
   * A batch that fails as a whole is retried mark by mark.
   */
  private async writeReceipts(batch: Array<Submitted<ReceiptItem, void>>): Promise<void> {
    if (batch.length === 1) {
      const { item } = batch[0]!;
      return this.markOne(item.actorId, item.conversationId, { read: item.read, delivered: item.delivered }).then(batch[0]!.resolve, batch[0]!.reject);
    }
    const byKey = new Map<string, ReceiptItem & { waiting: Array<Submitted<ReceiptItem, void>> }>();
    for (const s of batch) {
      const key = `${s.item.conversationId}\n${s.item.actorId}`;
      const cur = byKey.get(key);
      if (cur) {
        cur.read = Math.max(cur.read, s.item.read);
        cur.delivered = Math.max(cur.delivered, s.item.delivered);
        cur.waiting.push(s);
      } else byKey.set(key, { ...s.item, waiting: [s] });
    }
    const marks = [...byKey.values()];
    try {
      const refused = await this.d.events.write(async (tx, emit) => {
        const members = await repo.membersOfMany(tx, [...new Set(marks.map((m) => m.conversationId))]);
        const isMember = new Set(members.map((m) => `${m.conversationId}\n${m.userId}`));
        const ok = marks.filter((m) => isMember.has(`${m.conversationId}\n${m.actorId}`));
        const pairs = ok.map((m) => ({ conversationId: m.conversationId, userId: m.actorId, read: m.read, delivered: m.delivered }));
        pairs.sort((a, b) => (a.conversationId + '\n' + a.userId < b.conversationId + '\n' + b.userId ? -1 : 1));
        for (const r of await repo.raiseMarksLocked(tx, pairs)) {
          const to = members.filter((m) => m.conversationId === r.conversationId).map((m) => m.userId);
          emit(to, 'chat.receipt', r);
        }
        return marks.filter((m) => !isMember.has(`${m.conversationId}\n${m.actorId}`));
      });
      const notMember = new Set(refused);
      for (const m of marks) {
        for (const w of m.waiting) notMember.has(m) ? w.reject(new AppError('chat.not_member', 'you are not a member of this conversation')) : w.resolve();
      }
    } catch {
      for (const m of marks) {
        const r = this.markOne(m.actorId, m.conversationId, { read: m.read, delivered: m.delivered });
        for (const w of m.waiting) r.then(w.resolve, w.reject);
      }
    }
  }

  private async markOne(actorId: string, conversationId: string, marks: { read?: number; delivered: number }): Promise<void> {
    await this.d.events.write(async (tx, emit) => {
      const members = await this.membersOrForbid(tx, conversationId, actorId);
      const r = await repo.raiseMarks(tx, conversationId, actorId, marks);
      if (!r) return;
      emit(members.map((m) => m.userId), 'chat.receipt', { conversationId, userId: actorId, ...r });
    });
  }

  /** Last typing signal per user and conversation: a throttle only, so losing it on restart is harmless. */
  private readonly lastTyping = new Map<string, number>();

  /** Typing indicator: ephemeral, never stored, throttled, expires on the client after a few seconds. */
  async typing(actorId: string, conversationId: string): Promise<void> {
    const key = `${actorId}\n${conversationId}`;
    const now = this.d.clock.now().getTime();
    if (now - (this.lastTyping.get(key) ?? 0) < TYPING_THROTTLE_MS) return;
    const members = await this.membersOrForbid(this.db, conversationId, actorId);
    // "Typing…" reaches the peer like a message does: not someone who blocked you.
    await this.refuseIfBlockedByPeer(this.db, conversationId, actorId, members);
    if (this.lastTyping.size > 100_000) this.lastTyping.clear();
    this.lastTyping.set(key, now);
    const others = members.filter((m) => m.userId !== actorId).map((m) => m.userId);
    this.d.events.publishEphemeral(others, { type: 'chat.typing', data: { conversationId, userId: actorId, expiresInMs: TYPING_TTL_MS } });
  }

  async search(actorId: string, q: { query: string; conversationId?: string; limit: number }): Promise<MessageDTO[]> {
    if (q.conversationId) await this.conversations.requireMember(this.db, q.conversationId, actorId);
    const found = await repo.search(this.db, actorId, q);
    return found.map((m) => messageDTO(m));
  }

  private async membersOrForbid(ex: Executor, conversationId: string, actorId: string) {
    const members = await repo.members(ex, conversationId);
    if (!members.some((m) => m.userId === actorId)) throw new AppError('chat.not_member', 'you are not a member of this conversation');
    return members;
  }

  /** In a direct conversation, what reaches the peer (typing, reactions) is refused when the peer blocked the actor. */
  private async refuseIfBlockedByPeer(ex: Executor, conversationId: string, actorId: string, members: Array<{ userId: string }>): Promise<void> {
    if (members.length !== 2) return;
    const conv = await repo.conversation(ex, conversationId);
    const peer = members.find((m) => m.userId !== actorId);
    if (conv?.kind === 'direct' && peer && (await repo.blockedBetween(ex, actorId, peer.userId)).bBlockedA) throw new AppError('chat.blocked', 'this user does not accept your messages');
  }

  private async visibleMessage(ex: Executor, conversationId: string, seq: number, joinedSeq: number): Promise<MessageRow> {
    const msg = await repo.message(ex, conversationId, seq);
    if (!msg || msg.seq <= joinedSeq) throw new AppError('chat.message_not_found', 'no such message');
    return msg;
  }
}

/** The Postgres error code of `err` or of what it wraps (Drizzle wraps driver errors). */
function pgCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
function isUniqueViolation(err: unknown): boolean {
  return pgCode(err) === '23505';
}
/** A deadlock victim or a serialization failure: the transaction was rolled back and can run again. */
function isRetryable(err: unknown): boolean {
  const code = pgCode(err);
  return code === '40P01' || code === '40001';
}
