import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.ts';
import { decideAtSend, DEFAULT_PREFS, inQuietHours, quietEndsAt, parseRetryAfter, retryDelayMs, validateDevice, type Prefs } from './notify.domain.ts';
import { escapeHtml, renderEmail, renderPush, renderSms } from './notify.texts.ts';

const prefs = (over: Partial<Prefs> = {}): Prefs => ({ ...DEFAULT_PREFS, ...over });
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('notification rules (pure, fake clock)', () => {
  const clock = manualClock(new Date('2026-03-02T18:30:00Z')); // 22:30 in Baku (UTC+4)

  it('quiet hours wrap midnight in the user’s time zone', () => {
    const q = { quietHours: { start: 22 * 60, end: 7 * 60 }, timeZone: 'Asia/Baku' };
    expect(inQuietHours(q, clock.now())).toBe(true);
    clock.advance(9 * 3600_000); // 07:30 Baku
    expect(inQuietHours(q, clock.now())).toBe(false);
    expect(inQuietHours({ ...q, timeZone: 'America/New_York' }, clock.now())).toBe(true); // 22:30 in New York
    expect(inQuietHours({ quietHours: { start: 0, end: 0 }, timeZone: 'Asia/Baku' }, clock.now())).toBe(false);
  });

  it('offline recipient who has not read: the message push goes', () => {
    expect(decideAtSend({ kind: 'message', channel: 'expo', prefs: prefs(), now: clock.now(), member: { lastReadSeq: 4, muted: false }, seq: 5 })).toEqual({ send: true, silent: false });
  });

  it('read, muted, active on a device, left the conversation, opted out: dropped with the reason', () => {
    const base = { kind: 'message' as const, channel: 'fcm' as const, prefs: prefs(), now: clock.now(), seq: 5 };
    expect(decideAtSend({ ...base, member: { lastReadSeq: 5, muted: false } })).toEqual({ send: false, reason: 'read' });
    expect(decideAtSend({ ...base, member: { lastReadSeq: 0, muted: true } })).toEqual({ send: false, reason: 'muted' });
    expect(decideAtSend({ ...base, member: { lastReadSeq: 0, muted: false }, activeInConversation: true })).toEqual({ send: false, reason: 'active' });
    expect(decideAtSend({ ...base, member: null })).toEqual({ send: false, reason: 'not_member' });
    expect(decideAtSend({ ...base, member: { lastReadSeq: 0, muted: false }, prefs: prefs({ channels: { push: false, email: true, sms: false } }) })).toEqual({ send: false, reason: 'disabled:push' });
  });

  it('quiet hours defer messages, missed calls, email and SMS to the end of the period; support replies go silently; calls still ring', () => {
    // 22:00–07:00 in Baku (UTC+4); now 22:30 Baku → the period ends 07:00 Baku = 03:00 UTC.
    const q = prefs({ quietHours: { start: 22 * 60, end: 7 * 60 }, timeZone: 'Asia/Baku', channels: { push: true, email: true, sms: true } });
    const now = new Date('2026-03-02T18:30:00Z');
    const until = new Date('2026-03-03T03:00:00.000Z');
    const deferred = { send: false, reason: 'deferred until 2026-03-03T03:00:00.000Z (quiet hours)', deferUntil: until };
    const member = { lastReadSeq: 0, muted: false };
    expect(decideAtSend({ kind: 'message', channel: 'expo', prefs: q, now, member, seq: 1 })).toEqual(deferred);
    expect(decideAtSend({ kind: 'message', channel: 'email', prefs: q, now, member, seq: 1 })).toEqual(deferred);
    expect(decideAtSend({ kind: 'support_reply', channel: 'email', prefs: q, now, member, seq: 1 })).toEqual(deferred);
    expect(decideAtSend({ kind: 'missed_call', channel: 'sms', prefs: q, now })).toEqual(deferred);
    expect(decideAtSend({ kind: 'missed_call', channel: 'fcm', prefs: q, now })).toEqual(deferred);
    expect(decideAtSend({ kind: 'support_reply', channel: 'fcm', prefs: q, now, member, seq: 1 })).toEqual({ send: true, silent: true });
    expect(decideAtSend({ kind: 'call_incoming', channel: 'apns_voip', prefs: q, now })).toEqual({ send: true, silent: false });
    expect(decideAtSend({ kind: 'badge', channel: 'expo', prefs: q, now })).toEqual({ send: true, silent: false });
    // At the end of the period the same row goes, with sound.
    expect(decideAtSend({ kind: 'missed_call', channel: 'sms', prefs: q, now: until })).toEqual({ send: true, silent: false });
    expect(decideAtSend({ kind: 'message', channel: 'expo', prefs: q, now: new Date(until.getTime() - 60_000), member, seq: 1 })).toMatchObject({ send: false, deferUntil: until });
    // Read in the meantime: dropped as read, not deferred again.
    expect(decideAtSend({ kind: 'message', channel: 'expo', prefs: q, now, member: { lastReadSeq: 1, muted: false }, seq: 1 })).toEqual({ send: false, reason: 'read' });
  });

  it('the end of a quiet period is found in the user’s zone, same day or after midnight, across DST changes', () => {
    const day = prefs({ quietHours: { start: 12 * 60, end: 14 * 60 }, timeZone: 'UTC' });
    expect(quietEndsAt(day, new Date('2026-03-02T12:00:00Z')).toISOString()).toBe('2026-03-02T14:00:00.000Z');
    expect(quietEndsAt(day, new Date('2026-03-02T13:59:30Z')).toISOString()).toBe('2026-03-02T14:00:00.000Z');
    // New York springs forward at 02:00 on 8 March 2026: 01:30 EST → the 03:00 end is 03:00 EDT (07:00 UTC).
    const ny = prefs({ quietHours: { start: 60, end: 3 * 60 }, timeZone: 'America/New_York' });
    expect(quietEndsAt(ny, new Date('2026-03-08T06:30:00Z')).toISOString()).toBe('2026-03-08T07:00:00.000Z');
    // ...and falls back at 02:00 on 1 November 2026: 01:30 EDT → 03:00 EST (08:00 UTC).
    expect(quietEndsAt(ny, new Date('2026-11-01T05:30:00Z')).toISOString()).toBe('2026-11-01T08:00:00.000Z');
  });

  it('a ring that could not leave within 45 s is dropped, a stop-ringing always goes', () => {
    expect(decideAtSend({ kind: 'call_incoming', channel: 'fcm', prefs: prefs(), now: clock.now(), ageMs: 46_000 })).toEqual({ send: false, reason: 'expired' });
    expect(decideAtSend({ kind: 'call_stop', channel: 'fcm', prefs: prefs({ kinds: { ...DEFAULT_PREFS.kinds, call: false } }), now: clock.now() })).toEqual({ send: true, silent: false });
  });

  it('backoff doubles from 1 s, caps at an hour, and never undercuts Retry-After', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, undefined, mid))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, undefined, mid)).toBe(3_600_000);
    expect(retryDelayMs(1, 30_000, mid)).toBe(30_000);
    expect(parseRetryAfter('120', new Date())).toBe(120_000);
    const now = new Date('2026-03-02T12:00:00Z');
    expect(parseRetryAfter('Mon, 02 Mar 2026 12:01:00 GMT', now)).toBe(60_000);
  });

  it('token formats: malformed tokens and subscriptions are notify.invalid_token', () => {
    expect(validateDevice({ kind: 'expo', token: 'ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]' }).token).toBe('ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]');
    expect(code(() => validateDevice({ kind: 'expo', token: 'ExponentPushToken[]' }))).toBe('notify.invalid_token');
    expect(validateDevice({ kind: 'apns_voip', token: 'AB'.repeat(32) }).token).toBe('ab'.repeat(32));
    expect(code(() => validateDevice({ kind: 'webpush', subscription: { endpoint: 'ftp://x', keys: { p256dh: 'x', auth: 'y' } } }))).toBe('notify.invalid_token');
  });

  it('texts are localized (az, en) and user text is HTML-escaped in emails', () => {
    const call = { type: 'call_incoming' as const, callId: 'k', conversationId: 'c', callerId: 'a', callerName: 'Aysel', media: 'video' as const };
    expect(renderPush('az', call).body).toBe('Aysel sizə video zəng edir');
    expect(renderPush('en', call).body).toBe('Aysel is video calling you');
    expect(renderSms('az', { ...call, type: 'missed_call' })).toBe('Söhbət: Aysel sizə zəng etdi, amma çata bilmədi.');
    const msg = { type: 'message' as const, conversationId: 'c 1', seq: 1, messageId: 'm', senderName: '"><img src=x>', text: '<script>x</script> & co', title: null, support: true };
    const e = renderEmail('en', msg, 'https://app.example');
    expect(e.html).not.toMatch(/<script>|<img/);
    expect(e.html).toContain(escapeHtml('<script>x</script> & co'));
    expect(e.html).toContain('href="https://app.example/?conversation=c%201"');
    expect(e.subject).toBe('A new reply from support');
  });
});
