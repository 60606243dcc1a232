import type { ConversationDTO, MessageDTO, ReactionDTO } from './chat.ts';
import type { CallDTO, CallQualityReport, CallRecordingDTO, CallSignal } from './calls.ts';
import type { OperatorDTO, SupportChatDTO, SupportNoteDTO } from './support.ts';

/**
 * Events on a user's stream. Durable events are stored in the user's event log and carry a
 * cursor (a per-user, gap-free sequence number as a string); ephemeral ones (typing,
 * presence) are never stored and carry no cursor. Wire names are versioned by
 * PROTOCOL_VERSION; payloads are the DTOs of chat.ts.
 */
export interface DurableEventMap {
  'chat.message.created': { message: MessageDTO };
  'chat.message.updated': { message: MessageDTO };
  'chat.message.deleted': { conversationId: string; seq: number; scope: 'everyone' | 'me'; deletedAt: string };
  'chat.reaction.updated': { conversationId: string; seq: number; reactions: ReactionDTO[] };
  'chat.receipt': { conversationId: string; userId: string; lastReadSeq: number; lastDeliveredSeq: number };
  'chat.conversation.updated': { conversation: ConversationDTO };
  'chat.conversation.removed': { conversationId: string };
  'user.block.updated': { userId: string; blocked: boolean };
  /** A support chat changed (state, owner, priority): sent to its customer and the operators involved. */
  'support.chat.updated': { chat: SupportChatDTO };
  /** The operator's own status, capacity or load changed. */
  'support.operator.updated': { operator: OperatorDTO };
  /** An internal note on a support chat: sent to operators only, never to the customer. */
  'support.note.created': { note: SupportNoteDTO };
  /** A support chat crossed an SLA threshold (waiting too long, no first response): sent once, to operators. */
  'support.sla.warning': { chatId: string; kind: 'wait' | 'first_response'; topic: string; priority: string };
  /** A call changed state (ringing, accepted, active, ended): sent to both parties, every device. */
  'call.updated': { call: CallDTO };
  /** A member played a voice message for the first time (like a read receipt, for voice). */
  'media.voice.heard': { conversationId: string; seq: number; userId: string; heardAt: string };
  /** A moderator warned this user about a report against them (safety). */
  'safety.warning': { reportId: number; reason: string; message: string | null };
  /** A call's recording started, was stored, stopped early or failed: sent to both parties (no URL inside). */
  'call.recording.updated': { recording: CallRecordingDTO };
}

export interface EphemeralEventMap {
  'chat.typing': { conversationId: string; userId: string; expiresInMs: number };
  'presence.updated': { userId: string; online: boolean; lastSeenAt: string | null };
  /** Sent once the stream has caught up (after any backfill): the user is live at `cursor`. */
  'sync.ready': { cursor: string; userId: string };
  /**
   * The cursor the client sent is older than the server's retention (or unknown): it must reload
   * its conversation list and open conversations, then continue from `cursor` (G3).
   */
  'sync.resync': { cursor: string; reason: 'retention' | 'unknown_cursor' };
  /** The support queue moved: operators refresh the queue, waiting customers their position. */
  'support.queue.changed': { topic: string };
  /** WebRTC signaling from the other party of a call (never stored). `toDevice` null = every device of the recipient. */
  'call.signal': { callId: string; fromUserId: string; fromDevice: string; toDevice: string | null; signal: CallSignal };
  /** The other party's latest connection quality report (and its bars, 0..4). */
  'call.quality': { callId: string; userId: string; report: CallQualityReport; bars: number };
}

export type EventMap = DurableEventMap & EphemeralEventMap;
export type EventType = keyof EventMap;
export type DurableEventType = keyof DurableEventMap;

export const DURABLE_EVENT_TYPES = [
  'chat.message.created',
  'chat.message.updated',
  'chat.message.deleted',
  'chat.reaction.updated',
  'chat.receipt',
  'chat.conversation.updated',
  'chat.conversation.removed',
  'user.block.updated',
  'support.chat.updated',
  'support.operator.updated',
  'support.note.created',
  'support.sla.warning',
  'call.updated',
  'media.voice.heard',
  'safety.warning',
  'call.recording.updated',
] as const satisfies readonly DurableEventType[];

/**
 * One event as the stream delivers it. `cursor` is set on durable events only. On the WebSocket
 * every event is tRPC-`tracked()`: durable ones with their own cursor, ephemeral ones with the
 * current cursor, so tRPC's built-in resume (`lastEventId`) never falls back to an older position.
 */
export type StreamEvent = {
  [K in EventType]: { type: K; cursor?: string; data: EventMap[K] };
}[EventType];

/** Result of the HTTP catch-up (`sync.since`), for clients that cannot hold a socket. */
export interface SincePage {
  events: StreamEvent[];
  /** Pass as `cursor` next time. */
  cursor: string;
  hasMore: boolean;
  resync: boolean;
}
