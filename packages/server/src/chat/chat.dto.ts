import type { ConversationDTO, MessageDTO, ReactionDTO } from '@sohbet/protocol';
import { unreadCount } from './chat.domain.ts';
import type { ConversationRow, MemberRow, MessageRow, UserRow } from './chat.repo.ts';

/** Groups reaction rows into per-emoji summaries, in first-reacted order. */
export function reactionSummary(list: Array<{ userId: string; emoji: string }>): ReactionDTO[] {
  const by = new Map<string, ReactionDTO>();
  for (const r of list) {
    let x = by.get(r.emoji);
    if (!x) by.set(r.emoji, (x = { emoji: r.emoji, count: 0, userIds: [] }));
    x.count += 1;
    x.userIds.push(r.userId);
  }
  return [...by.values()];
}

export function messageDTO(m: MessageRow, reactions: ReactionDTO[] = [], replyTo: MessageRow | null = null): MessageDTO {
  const deleted = m.deletedAt !== null;
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: m.seq,
    clientId: m.clientId,
    senderId: m.senderId,
    kind: m.kind,
    text: deleted ? null : m.text,
    payload: deleted ? null : m.payload,
    replyTo: replyTo
      ? { seq: replyTo.seq, senderId: replyTo.senderId, text: replyTo.deletedAt ? null : (replyTo.text ?? null) }
      : m.replyToSeq !== null
        ? { seq: m.replyToSeq, senderId: null, text: null }
        : null,
    forwarded: m.forwarded,
    reactions: deleted ? [] : reactions,
    createdAt: m.createdAt.toISOString(),
    editedAt: m.editedAt?.toISOString() ?? null,
    deletedAt: m.deletedAt?.toISOString() ?? null,
    ...(m.redacted ? { redacted: true } : {}),
  };
}

/** A conversation as one member sees it (their unread count, mute and archive flags). */
export function conversationDTO(
  viewerId: string,
  c: ConversationRow,
  members: MemberRow[],
  users: Map<string, UserRow>,
  lastMessage: MessageDTO | null,
  blockedPeer: boolean,
): ConversationDTO {
  const me = members.find((m) => m.userId === viewerId);
  const peer = c.kind === 'direct' ? (members.find((m) => m.userId !== viewerId)?.userId ?? null) : null;
  return {
    id: c.id,
    kind: c.kind,
    title: c.title,
    context: c.context,
    members: members.map((m) => {
      const u = users.get(m.userId);
      return {
        userId: m.userId,
        role: m.role,
        name: u?.name ?? m.userId,
        avatarUrl: u?.avatarUrl ?? null,
        lastReadSeq: m.lastReadSeq,
        lastDeliveredSeq: m.lastDeliveredSeq,
      };
    }),
    lastSeq: c.lastSeq,
    lastMessage,
    lastMessageAt: c.lastMessageAt?.toISOString() ?? null,
    unreadCount: me ? unreadCount(c.lastSeq, me.lastReadSeq) : 0,
    muted: me?.muted ?? false,
    archived: me?.archived ?? false,
    peerId: peer,
    blocked: blockedPeer,
    createdAt: c.createdAt.toISOString(),
  };
}
