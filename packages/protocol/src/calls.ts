/**
 * Audio/video calls between the two members of a direct conversation. The call record is
 * server-authoritative (ringing → accepted → active → ended); media flows peer to peer
 * (`p2p`, the server only relays signaling) or through LiveKit (`livekit`).
 *
 * This is the contract other features (notifications, the SDK, the web app) rely on:
 * fields may be added, none renamed or removed.
 */
export const CALL_STATES = ['ringing', 'accepted', 'active', 'ended'] as const;
export type CallState = (typeof CALL_STATES)[number];

export const CALL_END_REASONS = ['completed', 'declined', 'busy', 'cancelled', 'missed', 'failed', 'connection_lost'] as const;
export type CallEndReason = (typeof CALL_END_REASONS)[number];

export const CALL_MEDIA = ['audio', 'video'] as const;
export type CallMedia = (typeof CALL_MEDIA)[number];

export type CallProvider = 'p2p' | 'livekit';

export interface CallDTO {
  /** Client-chosen id: a retried start returns the same call. */
  id: string;
  conversationId: string;
  callerId: string;
  calleeId: string;
  media: CallMedia;
  provider: CallProvider;
  state: CallState;
  endReason: CallEndReason | null;
  /** The device (connection) that answered; the callee's other devices stop ringing ("answered elsewhere"). */
  answeredByDevice: string | null;
  recording: boolean;
  createdAt: string;
  acceptedAt: string | null;
  endedAt: string | null;
  /** Seconds of connected time once ended (0 for calls that never connected). */
  durationSec: number | null;
}
