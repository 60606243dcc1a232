import type { ConversationDTO, MessageDTO } from '@sohbet/protocol';
import type { SohbetError, SohbetErrorCode } from './errors.ts';
import type { OutboxItem } from './outbox.ts';

/**
 * A message as a list shows it: a stored message, or an outbox item still on its way
 * (`localState` set, `seq` = Number.MAX_SAFE_INTEGER so it sorts last and never counts as read).
 */
export type ChatMessage = MessageDTO & {
  /** Set on outbox items only: `pending`, `sending` or `failed` (see `localError`). */
  localState?: OutboxItem['state'];
  /** The server's refusal code of a `failed` outbox item. */
  localError?: SohbetErrorCode;
};

/** The conversation list as `useConversations` returns it. */
export interface ConversationsView {
  conversations: ConversationDTO[];
  /** True until the first page arrived. */
  loading: boolean;
  error: SohbetError | null;
}

/** One conversation's messages as `useMessages` returns it. */
export interface MessagesView {
  /** Stored messages by seq (G1), then this device's outbox items for the conversation. */
  messages: ChatMessage[];
  /** True when older messages exist on the server. */
  hasMore: boolean;
  loading: boolean;
  error: SohbetError | null;
  /** Loads the previous page (no-op while loading or when there is nothing more). */
  loadOlder(): Promise<void>;
}

/** Inserts or replaces messages by seq, keeping the list sorted ascending (G1). Returns a new array. */
export function mergeMessages(list: readonly MessageDTO[], incoming: readonly MessageDTO[]): MessageDTO[] {
  if (incoming.length === 0) return list as MessageDTO[];
  const bySeq = new Map<number, MessageDTO>();
  for (const m of list) bySeq.set(m.seq, m);
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Applies `f` to the message with `seq`; `f` returning null removes it. */
export function patchMessage(list: readonly MessageDTO[], seq: number, f: (m: MessageDTO) => MessageDTO | null): MessageDTO[] {
  const i = list.findIndex((m) => m.seq === seq);
  if (i < 0) return list as MessageDTO[];
  const next = f(list[i]!);
  const out = [...list];
  if (next) out[i] = next;
  else out.splice(i, 1);
  return out;
}

/** What a message deleted for everyone looks like (the server keeps the seq, drops the content). */
export function tombstone(m: MessageDTO): MessageDTO {
  return { ...m, text: null, payload: null, reactions: [], deletedAt: m.deletedAt ?? new Date().toISOString() };
}

/** Outbox items of a conversation as list rows, minus those the server already stored. */
export function outboxRows(items: readonly OutboxItem[], conversationId: string, stored: readonly MessageDTO[], me: string | null): ChatMessage[] {
  const sent = new Set(stored.map((m) => m.clientId));
  const bySeq = new Map(stored.map((m) => [m.seq, m]));
  return items
    .filter((i) => i.conversationId === conversationId && !sent.has(i.clientId))
    .map((i) => {
      const replied = i.replyToSeq !== undefined ? bySeq.get(i.replyToSeq) : undefined;
      return {
        id: `local:${i.clientId}`,
        conversationId,
        seq: Number.MAX_SAFE_INTEGER,
        clientId: i.clientId,
        senderId: me,
        kind: i.payload ? 'listing' : 'text',
        text: i.text ?? null,
        payload: i.payload ?? null,
        replyTo: i.replyToSeq !== undefined ? { seq: i.replyToSeq, senderId: replied?.senderId ?? null, text: replied?.text ?? null } : null,
        forwarded: !!i.forward,
        reactions: [],
        createdAt: i.createdAt,
        editedAt: null,
        deletedAt: null,
        localState: i.state,
        ...(i.error ? { localError: i.error } : {}),
      };
    });
}

/** Unread count from sequence numbers (G4): `lastSeq − my lastReadSeq`, never negative. */
export function withUnread(c: ConversationDTO, me: string | null): ConversationDTO {
  const mine = me ? c.members.find((m) => m.userId === me) : undefined;
  if (!mine) return c;
  const unreadCount = Math.max(0, c.lastSeq - mine.lastReadSeq);
  return unreadCount === c.unreadCount ? c : { ...c, unreadCount };
}

/** A conversation after a new message: last message, order, and unread count follow. */
export function withMessage(c: ConversationDTO, m: MessageDTO, me: string | null): ConversationDTO {
  if (m.seq < c.lastSeq || (c.lastMessage && c.lastMessage.seq >= m.seq && c.lastMessage.id === m.id)) return c;
  let members = c.members;
  // Sending marks your own message read and delivered (the server does the same).
  if (me && m.senderId === me) {
    members = members.map((x) => (x.userId === me ? { ...x, lastReadSeq: Math.max(x.lastReadSeq, m.seq), lastDeliveredSeq: Math.max(x.lastDeliveredSeq, m.seq) } : x));
  }
  const next: ConversationDTO = { ...c, members, lastSeq: m.seq, lastMessage: m, lastMessageAt: m.createdAt };
  if (me && next.members.some((x) => x.userId === me)) return withUnread(next, me);
  return { ...next, unreadCount: m.senderId && m.senderId === me ? 0 : c.unreadCount + (m.seq - c.lastSeq) };
}

/** A conversation after a receipt of one of its members. */
export function withReceipt(c: ConversationDTO, r: { userId: string; lastReadSeq: number; lastDeliveredSeq: number }, me: string | null): ConversationDTO {
  const members = c.members.map((x) => (x.userId === r.userId ? { ...x, lastReadSeq: Math.max(x.lastReadSeq, r.lastReadSeq), lastDeliveredSeq: Math.max(x.lastDeliveredSeq, r.lastDeliveredSeq) } : x));
  return withUnread({ ...c, members }, me);
}

/** Most recent activity first. */
export function byActivity(a: ConversationDTO, b: ConversationDTO): number {
  const ta = a.lastMessageAt ?? a.createdAt;
  const tb = b.lastMessageAt ?? b.createdAt;
  return ta < tb ? 1 : ta > tb ? -1 : a.id < b.id ? -1 : 1;
}
