import { z } from 'zod';
import { MEDIA_LIMITS, attachmentId, type AttachmentDTO } from './media.ts';

/** Limits that clients should enforce before sending too (the server always does). */
export const LIMITS = {
  textMax: 4000,
  historyPageMax: 200,
  groupMembersMax: 1000,
  titleMax: 200,
  searchQueryMax: 200,
  idMax: 128,
} as const;

/** User ids come from the host app's `sub` claim: opaque strings. */
export const userId = z.string().trim().min(1).max(LIMITS.idMax);
export const conversationId = z.string().min(1).max(LIMITS.idMax);
/** Client-chosen message id (G2): retries with the same id return the stored message. */
export const clientId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
export const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The "context card" shown with a conversation: what a buyer and seller talk about. */
export const listingContext = z.object({
  type: z.literal('listing'),
  id: z.string().min(1).max(LIMITS.idMax),
  title: z.string().min(1).max(LIMITS.titleMax),
  imageUrl: z.string().url().max(2000).optional(),
  price: z.object({ amount: z.number().finite().nonnegative(), currency: z.string().length(3) }).optional(),
  url: z.string().url().max(2000).optional(),
});
export type ListingContext = z.infer<typeof listingContext>;
export const conversationContext = listingContext;
export type ConversationContext = ListingContext;

/** A message's structured part: a listing card someone shares, or a system notice. */
export const messagePayload = z.discriminatedUnion('type', [
  listingContext,
  z.object({ type: z.literal('notice'), code: z.string().min(1).max(64), params: z.record(z.string(), z.string().max(500)).optional() }),
]);
/** The stored payload of a message: a listing card, a notice, or attachments (image, file, voice). */
export type MessagePayload = z.infer<typeof messagePayload> | { type: 'media'; attachments: AttachmentDTO[] };

export const messageKind = z.enum(['text', 'listing', 'system', 'image', 'file', 'voice']);
export type MessageKind = z.infer<typeof messageKind>;

export const openDirectInput = z.object({ userId, context: conversationContext.optional() });
export const createGroupInput = z.object({
  title: z.string().trim().min(1).max(LIMITS.titleMax),
  memberIds: z.array(userId).min(1).max(LIMITS.groupMembersMax - 1),
});
export const membersInput = z.object({ conversationId, userIds: z.array(userId).min(1).max(100) });
export const conversationRef = z.object({ conversationId });
export const listInput = z
  .object({ archived: z.boolean().default(false), limit: z.number().int().min(1).max(200).default(50), before: z.string().datetime().optional() })
  .default({ archived: false, limit: 50 });

export const sendInput = z
  .object({
    conversationId,
    clientId,
    text: z.string().max(LIMITS.textMax * 2).optional(),
    payload: listingContext.optional(),
    replyToSeq: seq.optional(),
    forward: z.object({ conversationId, seq }).optional(),
    /** Finalized uploads to send in this message (the text, if any, is their caption). */
    attachmentIds: z.array(attachmentId).min(1).max(MEDIA_LIMITS.perMessage).optional(),
  })
  .refine((v) => v.forward || (v.text !== undefined && v.text.trim().length > 0) || v.payload || v.attachmentIds, {
    message: 'a message needs text, a listing card, attachments or a message to forward',
  })
  .refine((v) => !(v.attachmentIds && (v.payload || v.forward)), { message: 'attachments go in their own message (no listing card or forward)' });
export type SendInput = z.infer<typeof sendInput>;

export const historyInput = z.object({
  conversationId,
  before: seq.optional(),
  after: seq.optional(),
  limit: z.number().int().min(1).max(LIMITS.historyPageMax).default(50),
});
export const editInput = z.object({ conversationId, seq, text: z.string().max(LIMITS.textMax * 2) });
export const deleteInput = z.object({ conversationId, seq, scope: z.enum(['everyone', 'me']) });
export const reactInput = z.object({ conversationId, seq, emoji: z.string().min(1).max(16), on: z.boolean() });
export const markInput = z.object({ conversationId, seq });
export const muteInput = z.object({ conversationId, muted: z.boolean() });
export const archiveInput = z.object({ conversationId, archived: z.boolean() });
export const searchInput = z.object({
  query: z.string().trim().min(1).max(LIMITS.searchQueryMax),
  conversationId: conversationId.optional(),
  limit: z.number().int().min(1).max(100).default(20),
});
export const typingInput = z.object({ conversationId });
export const blockInput = z.object({ userId });
export const reportReason = z.enum(['spam', 'scam', 'abuse', 'other']);
export const reportInput = z.object({
  userId,
  reason: reportReason,
  conversationId: conversationId.optional(),
  note: z.string().trim().max(1000).optional(),
});
export const presenceInput = z.object({ userIds: z.array(userId).min(1).max(200) });

// ---- DTOs (what the server returns) ----

export interface UserDTO {
  id: string;
  name: string;
  avatarUrl: string | null;
  roles: string[];
}

export interface ReactionDTO {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface MessageDTO {
  id: string;
  conversationId: string;
  seq: number;
  clientId: string | null;
  senderId: string | null;
  kind: MessageKind;
  text: string | null;
  payload: MessagePayload | null;
  replyTo: { seq: number; senderId: string | null; text: string | null } | null;
  forwarded: boolean;
  reactions: ReactionDTO[];
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** True when the host's pre-send hook replaced the text the sender typed (absent otherwise). */
  redacted?: boolean;
}

export interface MemberDTO {
  userId: string;
  role: 'owner' | 'admin' | 'member';
  name: string;
  avatarUrl: string | null;
  lastReadSeq: number;
  lastDeliveredSeq: number;
}

export interface ConversationDTO {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  /**
   * A title made by the server (e.g. a support chat's "Support · delivery") as a code and params
   * that apps translate; `title` keeps the plain-text fallback. Null for titles people typed.
   */
  titleCode?: { code: string; params?: Record<string, string> } | null;
  context: ConversationContext | null;
  members: MemberDTO[];
  lastSeq: number;
  lastMessage: MessageDTO | null;
  lastMessageAt: string | null;
  unreadCount: number;
  muted: boolean;
  archived: boolean;
  /** For a direct conversation: the other member's id. */
  peerId: string | null;
  /** True when the other member of a direct conversation blocked you or you blocked them. */
  blocked: boolean;
  createdAt: string;
}

export interface PresenceDTO {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}

export interface HistoryPage {
  messages: MessageDTO[];
  /**
   * True when more messages exist in the paging direction: older than the first one returned (for
   * `before` or the latest page), or newer than the last one returned (for `after`).
   */
  hasMore: boolean;
}
