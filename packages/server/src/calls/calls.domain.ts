import type { CallEndReason, CallMedia, CallQualityReport, CallQualitySummary, CallSignal, CallState, ErrorCode } from '@sohbet/protocol';

/**
 * The call state machine, pure: every transition and race is decided here from a snapshot of the
 * stored call. The service applies the resulting patch with a conditional update on `version`;
 * if another writer got there first it re-reads and asks again, so two accepts, cancel vs accept,
 * decline vs timeout all resolve to exactly one outcome (G5).
 */

export interface CallTimers {
  ringMs: number;
  connectMs: number;
  graceMs: number;
  maxDurationMs: number;
}

export interface CallSnapshot {
  state: CallState;
  callerId: string;
  calleeId: string;
  media: CallMedia;
  answeredByDevice: string | null;
  createdAt: Date;
  acceptedAt: Date | null;
  activeAt: Date | null;
  endedAt: Date | null;
  dueAt: Date | null;
  callerGoneAt: Date | null;
  calleeGoneAt: Date | null;
}

export type CallCommand =
  | { type: 'accept'; by: string; device: string }
  | { type: 'decline'; by: string }
  | { type: 'hangup'; by: string }
  /** A party's media connected (first report turns accepted into active). */
  | { type: 'connected'; by: string; device: string }
  | { type: 'upgrade'; by: string }
  /** The stored deadline of the current state passed (ring, connect, max duration). */
  | { type: 'due' }
  /** A party's last socket closed / a socket came back (reconnect grace). */
  | { type: 'party_gone'; userId: string }
  | { type: 'party_back'; userId: string }
  /** A party stayed away past the grace. */
  | { type: 'grace_expired' }
  /** The media provider failed (room creation, webhook said the room died). */
  | { type: 'fail'; reason: 'failed' | 'connection_lost' }
  /** The provider closed the call's room (LiveKit `room_finished`): everyone left. */
  | { type: 'room_finished' };

export type CallPatch = Partial<Pick<CallSnapshot, 'state' | 'media' | 'answeredByDevice' | 'acceptedAt' | 'activeAt' | 'endedAt' | 'dueAt' | 'callerGoneAt' | 'calleeGoneAt'>> & {
  endReason?: CallEndReason;
  endedBy?: string | null;
};

export type Decision =
  /** Apply the patch (and emit `call.updated`). */
  | { kind: 'change'; patch: CallPatch }
  /** Nothing to do: a retry or an event that no longer matters; return the call as it is. */
  | { kind: 'same' }
  | { kind: 'error'; code: ErrorCode; message: string };

const LIVE: readonly CallState[] = ['ringing', 'accepted', 'active'];
export const isLive = (s: CallState): boolean => LIVE.includes(s);

const end = (reason: CallEndReason, at: Date, by: string | null = null): Decision => ({
  kind: 'change',
  patch: { state: 'ended', endReason: reason, endedAt: at, endedBy: by, dueAt: null, callerGoneAt: null, calleeGoneAt: null },
});
const err = (code: ErrorCode, message: string): Decision => ({ kind: 'error', code, message });

function party(c: CallSnapshot, userId: string): 'caller' | 'callee' | null {
  return userId === c.callerId ? 'caller' : userId === c.calleeId ? 'callee' : null;
}

/** Decides what a command does to a call at time `now`. */
export function decide(c: CallSnapshot, cmd: CallCommand, now: Date, t: CallTimers): Decision {
  if ('by' in cmd && !party(c, cmd.by)) return err('call.not_found', 'no such call');
  switch (cmd.type) {
    case 'accept':
      if (cmd.by !== c.calleeId) return err('call.not_callee', 'only the callee can accept');
      if (c.state === 'ringing') {
        return { kind: 'change', patch: { state: 'accepted', answeredByDevice: cmd.device, acceptedAt: now, dueAt: new Date(now.getTime() + t.connectMs) } };
      }
      // A retry from the device that answered is safe; any other device lost the race (G5).
      if (c.state !== 'ended' && c.answeredByDevice === cmd.device) return { kind: 'same' };
      if (c.state !== 'ended') return err('call.already_answered', 'the call was answered on another device');
      return err('call.invalid_state', 'the call has ended');
    case 'decline':
      if (cmd.by !== c.calleeId) return err('call.not_callee', 'only the callee can decline');
      if (c.state === 'ringing') return end('declined', now, cmd.by);
      if (c.state === 'ended') return { kind: 'same' };
      return err('call.invalid_state', 'the call was already answered; hang up instead');
    case 'hangup':
      if (c.state === 'ended') return { kind: 'same' };
      if (c.state === 'ringing') return end(cmd.by === c.callerId ? 'cancelled' : 'declined', now, cmd.by);
      return end('completed', now, cmd.by);
    case 'connected':
      if (c.state === 'accepted') {
        if (cmd.by === c.calleeId && cmd.device !== c.answeredByDevice) return err('call.wrong_device', 'this device did not answer the call');
        return { kind: 'change', patch: { state: 'active', activeAt: now, dueAt: new Date(now.getTime() + t.maxDurationMs) } };
      }
      if (c.state === 'active') return { kind: 'same' };
      return err('call.invalid_state', c.state === 'ringing' ? 'the call has not been answered' : 'the call has ended');
    case 'upgrade':
      if (!isLive(c.state)) return err('call.invalid_state', 'the call has ended');
      return c.media === 'video' ? { kind: 'same' } : { kind: 'change', patch: { media: 'video' } };
    case 'due':
      if (!c.dueAt || c.dueAt > now) return { kind: 'same' };
      if (c.state === 'ringing') return end('missed', now);
      if (c.state === 'accepted') return end('failed', now);
      if (c.state === 'active') return end('completed', now);
      return { kind: 'same' };
    case 'party_gone': {
      const p = party(c, cmd.userId);
      if (!p || !isLive(c.state)) return { kind: 'same' };
      // A callee without a socket while ringing is normal (push wakes the phone); only a connected leg can be lost.
      if (c.state === 'ringing' && p === 'callee') return { kind: 'same' };
      const key = p === 'caller' ? 'callerGoneAt' : 'calleeGoneAt';
      return c[key] ? { kind: 'same' } : { kind: 'change', patch: { [key]: now } };
    }
    case 'party_back': {
      const p = party(c, cmd.userId);
      if (!p) return { kind: 'same' };
      const key = p === 'caller' ? 'callerGoneAt' : 'calleeGoneAt';
      return c[key] ? { kind: 'change', patch: { [key]: null } } : { kind: 'same' };
    }
    case 'grace_expired': {
      const gone = graceDueAt(c, t);
      if (!isLive(c.state) || !gone || gone > now) return { kind: 'same' };
      return end(c.state === 'ringing' ? 'cancelled' : 'connection_lost', now);
    }
    case 'fail':
      return isLive(c.state) ? end(cmd.reason, now) : { kind: 'same' };
    case 'room_finished':
      // Rooms are made on accept, so a ringing call has none to finish.
      if (c.state === 'active') return end('completed', now);
      return c.state === 'accepted' ? end('failed', now) : { kind: 'same' };
  }
}

/** When the reconnect grace of a party that went away runs out (null: everyone is here). */
export function graceDueAt(c: Pick<CallSnapshot, 'callerGoneAt' | 'calleeGoneAt'>, t: Pick<CallTimers, 'graceMs'>): Date | null {
  const gone = [c.callerGoneAt, c.calleeGoneAt].filter((d): d is Date => !!d).map((d) => d.getTime());
  return gone.length ? new Date(Math.min(...gone) + t.graceMs) : null;
}

/** Seconds of connected time: from media flowing to the end (0 if it never flowed). */
export function durationSec(c: Pick<CallSnapshot, 'activeAt' | 'endedAt'>): number | null {
  if (!c.endedAt) return null;
  if (!c.activeAt) return 0;
  return Math.max(0, Math.round((c.endedAt.getTime() - c.activeAt.getTime()) / 1000));
}

/** A live call that holds a user's line (one live call per user). */
export interface LiveCall {
  id: string;
  callerId: string;
  calleeId: string;
  conversationId: string;
  state: CallState;
}

export type StartPlan =
  /** Ring the callee. */
  | { kind: 'ring' }
  /** The callee is ringing us for this conversation at the same moment: answer that call instead (glare). */
  | { kind: 'join'; callId: string }
  /** One of the two is in another call: the new call is stored as ended/busy. */
  | { kind: 'busy' };

/** What a start does given the live calls holding the caller's and the callee's lines. */
export function planStart(caller: string, callee: string, conversationId: string, lines: { caller: LiveCall | null; callee: LiveCall | null }): StartPlan {
  const theirs = lines.callee;
  if (theirs && theirs.state === 'ringing' && theirs.callerId === callee && theirs.calleeId === caller && theirs.conversationId === conversationId) {
    return { kind: 'join', callId: theirs.id };
  }
  if (lines.caller || lines.callee) return { kind: 'busy' };
  return { kind: 'ring' };
}

/** What to say in the conversation once a call ended: a code the apps translate, and an English fallback. */
export function historyEntry(c: { media: CallMedia; endReason: CallEndReason | null; durationSec: number | null }): { code: string; text: string; params: Record<string, string> } {
  const video = c.media === 'video';
  const params = { media: c.media, durationSec: String(c.durationSec ?? 0), reason: c.endReason ?? '' };
  if (c.endReason === 'completed' && (c.durationSec ?? 0) > 0) {
    const d = c.durationSec ?? 0;
    return { code: 'call.completed', text: `${video ? 'Video call' : 'Call'}, ${Math.floor(d / 60)}:${String(d % 60).padStart(2, '0')}`, params };
  }
  if (c.endReason === 'missed' || c.endReason === 'busy') return { code: 'call.missed', text: video ? 'Missed video call' : 'Missed call', params };
  if (c.endReason === 'declined') return { code: 'call.declined', text: video ? 'Declined video call' : 'Declined call', params };
  // Hung up after answering but before media flowed: nothing was said, like a cancelled call.
  if (c.endReason === 'cancelled' || c.endReason === 'completed') return { code: 'call.cancelled', text: video ? 'Cancelled video call' : 'Cancelled call', params };
  return { code: 'call.failed', text: video ? 'Video call failed' : 'Call failed', params };
}

const SDP_LINE = /^[a-z]=.*$/;

/**
 * Structural checks on relayed signaling, so a malformed offer is refused with a typed error at
 * the server instead of failing in the other party's browser. Content stays the peers' business.
 */
export function signalProblem(s: CallSignal): string | null {
  if (s.kind === 'description') {
    const lines = s.sdp.split(/\r?\n/).filter((l) => l.length > 0);
    if (lines[0] !== 'v=0') return 'a session description starts with v=0';
    if (!lines.every((l) => SDP_LINE.test(l))) return 'every SDP line is <letter>=<value>';
    if (!lines.some((l) => l.startsWith('m='))) return 'a session description has at least one m= section';
    return null;
  }
  if (s.kind === 'candidate') {
    // An empty candidate is the end-of-candidates marker.
    if (s.candidate !== '' && !/^(a=)?candidate:\S+ \d+ (udp|tcp|UDP|TCP) \d+ \S+ \d+ typ (host|srflx|prflx|relay)/.test(s.candidate)) return 'not an ICE candidate line';
    if (s.sdpMid === null && s.sdpMLineIndex === null) return 'an ICE candidate names its sdpMid or sdpMLineIndex';
    return null;
  }
  return null;
}

/** Folds one quality report into a call's summary (running averages; worst loss). */
export function foldQuality(prev: CallQualitySummary | null, r: CallQualityReport): CallQualitySummary {
  const n = prev?.reports ?? 0;
  const avg = (old: number | null, v: number | null) => (v === null ? old : old === null ? v : Math.round(((old * n + v) / (n + 1)) * 100) / 100);
  return {
    reports: n + 1,
    avgRttMs: avg(prev?.avgRttMs ?? null, r.rttMs),
    maxLoss: r.loss === null ? (prev?.maxLoss ?? null) : Math.max(prev?.maxLoss ?? 0, r.loss),
    avgJitterMs: avg(prev?.avgJitterMs ?? null, r.jitterMs),
    avgBitrateKbps: avg(prev?.avgBitrateKbps ?? null, r.bitrateKbps),
  };
}
