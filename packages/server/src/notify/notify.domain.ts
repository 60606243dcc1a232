import type { DeviceKind, NotifyChannel, NotifyKind, NotifyLocale, PreferencesDTO, RegisterDeviceInput } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';

/** Pure notification rules: token checks, quiet hours, send-time decisions, retry timing. No IO. */

export type OutboxKind = 'message' | 'support_reply' | 'call_incoming' | 'call_stop' | 'missed_call' | 'badge';
export type OutboxChannel = DeviceKind | 'email' | 'sms';

/** What a notification is about; stored with the row, rendered into text at send time (locale, badge). */
export type NotifyPayload =
  | { type: 'message'; conversationId: string; seq: number; messageId: string; senderName: string; text: string; title: string | null; support: boolean }
  | { type: 'call_incoming'; callId: string; conversationId: string; callerId: string; callerName: string; media: 'audio' | 'video' }
  | { type: 'call_stop'; callId: string; conversationId: string; state: string; endReason: string | null }
  | { type: 'missed_call'; callId: string; conversationId: string; callerName: string; media: 'audio' | 'video' }
  | { type: 'badge'; conversationId: string };

export interface Prefs extends PreferencesDTO {}

export const DEFAULT_PREFS: Prefs = Object.freeze({
  locale: 'az',
  channels: { push: true, email: true, sms: false },
  kinds: { message: true, call: true, missed_call: true, support: true },
  quietHours: { start: 0, end: 0 },
  timeZone: 'Asia/Baku',
  email: null,
  phone: null,
}) as Prefs;

/** Which preference kind governs an outbox kind. Badges and "stop ringing" follow-ups are never silenced by prefs. */
export function prefKindOf(kind: OutboxKind): NotifyKind | null {
  switch (kind) {
    case 'message':
      return 'message';
    case 'support_reply':
      return 'support';
    case 'call_incoming':
      return 'call';
    case 'missed_call':
      return 'missed_call';
    default:
      return null;
  }
}

export function channelGroup(channel: OutboxChannel): NotifyChannel {
  return channel === 'email' ? 'email' : channel === 'sms' ? 'sms' : 'push';
}

export interface ValidDevice {
  kind: DeviceKind;
  token: string;
  keys: { p256dh: string; auth: string } | null;
}

const b64url = /^[A-Za-z0-9_-]+={0,2}$/;
const b64len = (s: string) => Buffer.from(s.replace(/=+$/, ''), 'base64url').length;

/** Checks a token or subscription's format; a malformed one is rejected with notify.invalid_token and nothing is stored. */
export function validateDevice(input: RegisterDeviceInput): ValidDevice {
  const bad = (why: string) => new AppError('notify.invalid_token', `invalid ${input.kind} token: ${why}`, { kind: input.kind });
  switch (input.kind) {
    case 'expo':
      if (!/^Expo(nent)?PushToken\[[A-Za-z0-9_-]{10,200}\]$/.test(input.token)) throw bad('expected ExponentPushToken[…]');
      return { kind: 'expo', token: input.token, keys: null };
    case 'fcm':
      if (!/^[A-Za-z0-9_:-]{32,4096}$/.test(input.token)) throw bad('expected an FCM registration token');
      return { kind: 'fcm', token: input.token, keys: null };
    case 'apns_voip':
      if (!/^[0-9a-fA-F]{64,200}$/.test(input.token) || input.token.length % 2) throw bad('expected a hex PushKit device token');
      return { kind: 'apns_voip', token: input.token.toLowerCase(), keys: null };
    case 'apns':
      if (!/^[0-9a-fA-F]{64,200}$/.test(input.token) || input.token.length % 2) throw bad('expected a hex APNs device token');
      return { kind: 'apns', token: input.token.toLowerCase(), keys: null };
    case 'webpush': {
      const { endpoint, keys } = input.subscription;
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw bad('endpoint is not a URL');
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]')))
        throw bad('endpoint must be https');
      if (!b64url.test(keys.p256dh) || b64len(keys.p256dh) !== 65 || Buffer.from(keys.p256dh, 'base64url')[0] !== 4) throw bad('p256dh must be an uncompressed P-256 public key');
      if (!b64url.test(keys.auth) || b64len(keys.auth) !== 16) throw bad('auth must be 16 bytes');
      return { kind: 'webpush', token: endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } };
    }
  }
}

export function assertTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new AppError('notify.invalid_time_zone', `unknown time zone ${tz}`);
  }
}

/** Minutes after local midnight in the given IANA time zone. */
export function localMinute(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return h * 60 + m;
}

/** Quiet hours may wrap midnight (22:00–07:00). start == end means none. */
export function inQuietHours(prefs: Pick<Prefs, 'quietHours' | 'timeZone'>, now: Date): boolean {
  const { start, end } = prefs.quietHours;
  if (start === end) return false;
  const m = localMinute(now, prefs.timeZone);
  return start < end ? m >= start && m < end : m >= start || m < end;
}

/**
 * When the quiet period that contains `now` ends (the first minute outside it), in the user's zone.
 * Walks forward by the local minutes left, then corrects by the wall-clock difference a DST change
 * inside the period makes; as a last guard steps 15 minutes at a time until outside (bounded).
 */
export function quietEndsAt(prefs: Pick<Prefs, 'quietHours' | 'timeZone'>, now: Date): Date {
  const { end } = prefs.quietHours;
  const m = localMinute(now, prefs.timeZone);
  const minuteStart = Math.floor(now.getTime() / 60_000) * 60_000;
  let at = new Date(minuteStart + (((end - m + 1440) % 1440) || 1440) * 60_000);
  const off = ((end - localMinute(at, prefs.timeZone) + 720 + 1440) % 1440) - 720; // a DST change moved the wall clock
  if (off !== 0) at = new Date(at.getTime() + off * 60_000);
  for (let i = 0; i < 8 && inQuietHours(prefs, at); i++) at = new Date(at.getTime() + 15 * 60_000);
  return at;
}

/**
 * Quiet hours: what may still reach the user now. Rings, stop-ringing and badge follow-ups go as
 * usual; a live-support reply (someone is answering the user's own request right now) goes silently;
 * everything else — chat messages, missed calls, every email and SMS — waits for the end of the period.
 */
export function quietTreatment(kind: OutboxKind, channel: OutboxChannel): 'normal' | 'silent' | 'defer' {
  if (kind === 'call_incoming' || kind === 'call_stop' || kind === 'badge') return 'normal';
  if (kind === 'support_reply' && channelGroup(channel) === 'push') return 'silent';
  return 'defer';
}

/** Calls ring for at most this long; a ring push still undelivered after it is dropped. */
export const RING_MAX_AGE_MS = 45_000;

export type SendDecision = { send: true; silent: boolean } | { send: false; reason: string; deferUntil?: Date };

/**
 * The last check before a row leaves, with the state as it is now (the push was due after a delay):
 * a message already read, a muted conversation, an open conversation, a kind or channel the user
 * turned off → dropped with the reason recorded. Quiet hours (see quietTreatment): deferred to the end
 * of the period with "deferred until …" as the reason, or sent silently; the rules run again then, so a
 * message read in the meantime is dropped. Incoming calls ring through quiet hours.
 */
export function decideAtSend(x: {
  kind: OutboxKind;
  channel: OutboxChannel;
  prefs: Prefs;
  now: Date;
  /** message-like rows: the recipient's read position and mute flag in that conversation (null: no longer a member). */
  member?: { lastReadSeq: number; muted: boolean } | null;
  seq?: number;
  activeInConversation?: boolean;
  /** Time since the row was written: a ring nobody could hear in time is not sent late. */
  ageMs?: number;
}): SendDecision {
  if (x.kind === 'call_incoming' && (x.ageMs ?? 0) > RING_MAX_AGE_MS) return { send: false, reason: 'expired' };
  const prefKind = prefKindOf(x.kind);
  if (prefKind && !x.prefs.kinds[prefKind]) return { send: false, reason: `disabled:${prefKind}` };
  if (prefKind && !x.prefs.channels[channelGroup(x.channel)]) return { send: false, reason: `disabled:${channelGroup(x.channel)}` };
  if (x.kind === 'message' || x.kind === 'support_reply') {
    if (x.member === null) return { send: false, reason: 'not_member' };
    if (x.member && x.seq !== undefined && x.member.lastReadSeq >= x.seq) return { send: false, reason: 'read' };
    if (x.member?.muted) return { send: false, reason: 'muted' };
    if (x.activeInConversation) return { send: false, reason: 'active' };
  }
  const treatment = quietTreatment(x.kind, x.channel);
  if (treatment === 'normal' || !inQuietHours(x.prefs, x.now)) return { send: true, silent: false };
  if (treatment === 'silent') return { send: true, silent: true };
  const until = quietEndsAt(x.prefs, x.now);
  return { send: false, reason: `deferred until ${until.toISOString()} (quiet hours)`, deferUntil: until };
}

/** Provider outcome for one notification. */
export type SendOutcome =
  | { ok: true; providerId: string | null; delivered?: boolean }
  | { ok: false; retry: boolean; reason: string; retryAfterMs?: number; invalidToken?: boolean };

export type Failure = Extract<SendOutcome, { ok: false }>;

/** Delay before attempt n+1 after n failures: 1s, 2s, 4s … capped at 1 hour, jittered; never sooner than the provider's Retry-After. */
export function retryDelayMs(attempts: number, retryAfterMs: number | undefined, random = Math.random): number {
  const base = Math.min(3_600_000, 1000 * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(v: string | null | undefined, now: Date): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : Math.max(0, d - now.getTime());
}

/** HTTP status → outcome, for providers with plain HTTP APIs. 4xx (but 408/429) are permanent. */
export function httpFailure(status: number, reason: string, retryAfterMs?: number): Failure {
  const retry = status === 408 || status === 429 || status >= 500;
  return { ok: false, retry, reason: `HTTP ${status}: ${reason}`.slice(0, 500), retryAfterMs };
}

export function isLocale(x: unknown): x is NotifyLocale {
  return x === 'az' || x === 'en';
}
