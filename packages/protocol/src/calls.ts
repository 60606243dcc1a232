import { z } from 'zod';

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
  /** When media first flowed (the call became `active`). */
  activeAt?: string | null;
  /** Who ended the call (null when a timer or the server ended it). */
  endedBy?: string | null;
  /** Connection quality summary from both parties' reports (set once any report arrived). */
  quality?: CallQualitySummary | null;
}

export const CALL_RECORDING_STATUSES = ['recording', 'ready', 'partial', 'failed'] as const;
/**
 * `recording` while it is being written; `ready` once stored; `partial` when the recorder stopped
 * before the call ended (e.g. the server restarted) and the file holds what was written until then;
 * `failed` when there is no usable file (`error` says why).
 */
export type CallRecordingStatus = (typeof CALL_RECORDING_STATUSES)[number];

/** One recording of a call: a WebM per party (peer-to-peer) or one composite file (LiveKit Egress). */
export interface CallRecordingDTO {
  id: string;
  callId: string;
  /** Whose media the file holds; null for a composite of the whole call (LiveKit). */
  userId: string | null;
  status: CallRecordingStatus;
  /** Why it is partial or failed (`server_restarted`, `no_media`, the Egress error). */
  error: string | null;
  contentType: string;
  sizeBytes: number;
  durationMs: number | null;
  createdAt: string;
  /** A signed download link valid one hour, for `ready` and `partial` recordings (null otherwise). */
  url: string | null;
}

/** One client report: measured on the receiving side of the reporter's connection. */
export interface CallQualityReport {
  rttMs: number | null;
  /** Fraction of packets lost, 0..1. */
  loss: number | null;
  jitterMs: number | null;
  /** Receive bitrate, kilobits per second. */
  bitrateKbps: number | null;
}

/** Per-call aggregate of quality reports. */
export interface CallQualitySummary {
  reports: number;
  avgRttMs: number | null;
  maxLoss: number | null;
  avgJitterMs: number | null;
  avgBitrateKbps: number | null;
}

/** Quality bars (0..4) from a report: what each side shows for the other's connection. */
export function qualityBars(r: CallQualityReport): number {
  let bars = 4;
  if (r.rttMs !== null) bars -= r.rttMs > 600 ? 3 : r.rttMs > 300 ? 2 : r.rttMs > 150 ? 1 : 0;
  if (r.loss !== null) bars -= r.loss > 0.1 ? 3 : r.loss > 0.05 ? 2 : r.loss > 0.02 ? 1 : 0;
  if (r.jitterMs !== null && r.jitterMs > 50) bars -= 1;
  return Math.max(0, bars);
}

/**
 * Signaling between the two parties (ephemeral, relayed only to the other party): a session
 * description (offer/answer, renegotiation and ICE restarts are just new offers), an ICE
 * candidate, or the sender's media state (muted, camera, screen share) for the other side's UI.
 */
export type CallSignal =
  | { kind: 'description'; type: 'offer' | 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: string; sdpMid: string | null; sdpMLineIndex: number | null; usernameFragment?: string | null }
  | { kind: 'media'; audio: boolean; video: boolean; screen: boolean };

/** What a party needs to connect media: ICE servers for p2p, or a LiveKit URL and token. */
export type CallJoinInfo =
  | { provider: 'p2p'; iceServers: Array<{ urls: string[]; username?: string; credential?: string }> }
  | { provider: 'livekit'; url: string; token: string };

export const callId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
/** The device (SDK instance) that acts: chosen by the client, stable for its lifetime. */
export const deviceId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

export const callStartInput = z
  .object({
    callId,
    deviceId,
    userId: z.string().trim().min(1).max(128).optional(),
    conversationId: z.string().min(1).max(128).optional(),
    video: z.boolean().default(false),
    record: z.boolean().default(false),
  })
  .refine((v) => (v.userId ? 1 : 0) + (v.conversationId ? 1 : 0) === 1, { message: 'give exactly one of userId or conversationId' });
export const callRef = z.object({ callId });
export const callDeviceRef = z.object({ callId, deviceId });
export const callSignalInput = z.object({
  callId,
  deviceId,
  signal: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('description'), type: z.enum(['offer', 'answer']), sdp: z.string().max(128 * 1024) }),
    z.object({
      kind: z.literal('candidate'),
      candidate: z.string().max(2048),
      sdpMid: z.string().max(64).nullable(),
      sdpMLineIndex: z.number().int().min(0).max(64).nullable(),
      usernameFragment: z.string().max(256).nullish(),
    }),
    z.object({ kind: z.literal('media'), audio: z.boolean(), video: z.boolean(), screen: z.boolean() }),
  ]),
});
const metric = (max: number) => z.number().finite().min(0).max(max).nullable();
export const callQualityInput = z.object({
  callId,
  deviceId,
  report: z.object({ rttMs: metric(60_000), loss: metric(1), jitterMs: metric(60_000), bitrateKbps: metric(1_000_000) }),
});
export const callHistoryInput = z
  .object({ limit: z.number().int().min(1).max(200).default(50), before: z.string().datetime().optional() })
  .default({ limit: 50 });
