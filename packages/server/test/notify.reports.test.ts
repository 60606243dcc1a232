import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { manualClock } from '../src/core/clock.ts';
import { rows, sql } from '../src/db/db.ts';
import { notifyRepo } from '../src/notify/notify.repo.ts';
import { callerFor } from './caller.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';
import { FakeProviders, providerEnv } from './notify-fakes.ts';

/*
 * Delivery reports pushed by providers, driven with requests this test signs itself from each
 * provider's documented algorithm (not with the server's own code):
 *  - Twilio: base64(HMAC-SHA1(auth token, full URL + each POST param name+value sorted by name)) in X-Twilio-Signature.
 *  - Resend (Svix): base64(HMAC-SHA256(base64-decoded whsec_ secret, "id.timestamp.body")) as "v1,<sig>" in svix-signature.
 */
const PUBLIC = 'https://chat.example.test/webhooks/twilio/status';
const AUTH_TOKEN = 'twilio-test-token';
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const WHSEC_KEY = randomBytes(24);
const WHSEC = `whsec_${WHSEC_KEY.toString('base64')}`;

function twilioSign(url: string, params: Record<string, string>, token = AUTH_TOKEN): string {
  const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  return createHmac('sha1', token).update(data).digest('base64');
}
function svixSign(id: string, ts: number, body: string, key = WHSEC_KEY): string {
  return createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
}

let seq = 0;

describe.each(dbKinds)('provider delivery reports on %s (Twilio status callbacks, Resend webhooks)', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  const clock = manualClock(new Date('2026-03-02T09:00:00Z'));
  const fakes = new FakeProviders();
  const row = async (id: number) =>
    (await rows<{ state: string; reason: string | null; provider_id: string | null; delivered_at: unknown }>(app.services.database.db, sql`select state, reason, provider_id, delivered_at from notify_outbox where id = ${id}`))[0]!;

  beforeAll(async () => {
    await fakes.start();
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(testConfig({ ...db.env, ...providerEnv(fakes), NOTIFY_WORKER_MS: '3600000', TWILIO_STATUS_CALLBACK_URL: PUBLIC, RESEND_WEBHOOK_SECRET: WHSEC }), { database: db.database, clock });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
    await fakes.close();
  });

  /** One missed-call notification on `channel`, sent through the worker to the local fake provider. */
  async function sent(channel: 'sms' | 'email'): Promise<{ id: number; userId: string; providerId: string; request: ReturnType<FakeProviders['of']>[number] }> {
    const userId = `rep-${kind}-${++seq}`;
    const u = await callerFor(app.services, userId, { name: 'Rəşad' });
    await u.notify.setPreferences({ channels: { sms: true, email: true }, locale: 'en' });
    const before = fakes.of(channel === 'sms' ? 'twilio' : 'resend').length;
    const payload = { type: 'missed_call' as const, callId: `call-${seq}`, conversationId: `c-${seq}`, callerName: 'Aysel', media: 'audio' as const };
    const target = channel === 'sms' ? '+994501234567' : `r${seq}@example.test`;
    await notifyRepo.enqueue(app.services.database.db, [{ idempotencyKey: `rep:${kind}:${seq}`, userId, kind: 'missed_call', channel, deviceId: null, target, conversationId: null, collapseKey: null, priority: 'normal', payload, dueAt: clock.now() }], clock.now());
    await app.services.notifyWorker.drain();
    const [r] = await rows<{ id: number; provider_id: string; state: string }>(app.services.database.db, sql`select id, provider_id, state from notify_outbox where user_id = ${userId}`);
    expect(r!.state).toBe('accepted');
    return { id: Number(r!.id), userId, providerId: r!.provider_id, request: fakes.of(channel === 'sms' ? 'twilio' : 'resend').slice(before)[0]! };
  }

  const twilio = (query: string, params: Record<string, string>, signature: string) =>
    app.http.inject({ method: 'POST', url: `/webhooks/twilio/status${query}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, payload: new URLSearchParams(params).toString() });

  it('Twilio: each SMS carries a StatusCallback; a signed "undelivered" marks the row dead with Twilio\'s error code, "delivered" marks it delivered', async () => {
    const a = await sent('sms');
    const callback = a.request.form!.get('StatusCallback')!;
    expect(callback).toBe(`${PUBLIC}?n=${a.id}`);
    const failed = { AccountSid: ACCOUNT, MessageSid: a.providerId, MessageStatus: 'undelivered', ErrorCode: '30003', To: '+994501234567', ApiVersion: '2010-04-01' };
    const res = await twilio(`?n=${a.id}`, failed, twilioSign(callback, failed));
    expect(res.statusCode).toBe(200);
    expect(await row(a.id)).toMatchObject({ state: 'dead', reason: 'twilio undelivered 30003', provider_id: a.providerId });

    const b = await sent('sms');
    const url = `${PUBLIC}?n=${b.id}`;
    const progress = { AccountSid: ACCOUNT, MessageSid: b.providerId, MessageStatus: 'sent' };
    expect((await twilio(`?n=${b.id}`, progress, twilioSign(url, progress))).json()).toMatchObject({ ok: true, ignored: 'not a final status' });
    expect((await row(b.id)).state).toBe('accepted');
    const ok = { AccountSid: ACCOUNT, MessageSid: b.providerId, MessageStatus: 'delivered' };
    expect((await twilio(`?n=${b.id}`, ok, twilioSign(url, ok))).json()).toMatchObject({ ok: true, id: b.id, state: 'delivered' });
    expect(await row(b.id)).toMatchObject({ state: 'delivered', reason: null });
    expect((await row(b.id)).delivered_at).not.toBeNull();
  });

  it('Twilio: a wrong signature, another auth token, a tampered parameter or a signature made for another URL is refused (401) and changes nothing', async () => {
    const a = await sent('sms');
    const other = await sent('sms');
    const url = `${PUBLIC}?n=${a.id}`;
    const p = { AccountSid: ACCOUNT, MessageSid: a.providerId, MessageStatus: 'failed', ErrorCode: '30007' };
    const refusals = [
      await twilio(`?n=${a.id}`, p, 'bm90IGEgc2lnbmF0dXJl'),
      await twilio(`?n=${a.id}`, p, twilioSign(url, p, 'another-token')),
      await twilio(`?n=${a.id}`, { ...p, ErrorCode: '30008' }, twilioSign(url, p)),
      // Signed for row a's URL, replayed against row b: the URL is part of what is signed.
      await twilio(`?n=${other.id}`, { ...p, MessageSid: other.providerId }, twilioSign(url, { ...p, MessageSid: other.providerId })),
      await twilio(`?n=${a.id}`, p, ''),
    ];
    for (const r of refusals) expect([r.statusCode, r.json()]).toEqual([401, { code: 'notify.webhook_invalid' }]);
    expect((await row(a.id)).state).toBe('accepted');
    expect((await row(other.id)).state).toBe('accepted');
    // A correctly signed report for a message id that is not this row's changes nothing either.
    const wrongSid = { ...p, MessageSid: 'SM00000000000000000000000000000000' };
    expect((await twilio(`?n=${a.id}`, wrongSid, twilioSign(url, wrongSid))).json()).toMatchObject({ ok: true, ignored: 'unknown message' });
    expect((await row(a.id)).state).toBe('accepted');
  });

  const resend = (body: string, h: { id?: string; ts?: number; sig?: string }) =>
    app.http.inject({
      method: 'POST',
      url: '/webhooks/resend',
      headers: { 'content-type': 'application/json', ...(h.id ? { 'svix-id': h.id } : {}), ...(h.ts !== undefined ? { 'svix-timestamp': String(h.ts) } : {}), ...(h.sig ? { 'svix-signature': h.sig } : {}) },
      payload: body,
    });
  const event = (type: string, emailId: string, extra: object = {}) => JSON.stringify({ type, created_at: clock.now().toISOString(), data: { email_id: emailId, to: ['x@example.test'], subject: 'Missed call', ...extra } });
  const now = () => Math.floor(clock.now().getTime() / 1000);

  it('Resend: signed email.delivered marks the row delivered; email.bounced marks it dead with the bounce; email.complained turns email off for that person', async () => {
    const a = await sent('email');
    const body = event('email.delivered', a.providerId);
    const id = `msg_${++seq}`;
    // Several signatures (key rotation): one valid is enough.
    const res = await resend(body, { id, ts: now(), sig: `v1,${svixSign(id, now(), body, randomBytes(24))} v1,${svixSign(id, now(), body)}` });
    expect([res.statusCode, res.json()]).toEqual([200, { ok: true, id: a.id, state: 'delivered' }]);
    expect((await row(a.id)).state).toBe('delivered');

    const b = await sent('email');
    const bounced = event('email.bounced', b.providerId, { bounce: { type: 'Permanent', subType: 'General', message: 'The recipient mailbox does not exist.' } });
    expect((await resend(bounced, { id: 'msg_b', ts: now(), sig: `v1,${svixSign('msg_b', now(), bounced)}` })).statusCode).toBe(200);
    expect(await row(b.id)).toMatchObject({ state: 'dead', reason: 'resend bounced (Permanent/General): The recipient mailbox does not exist.' });

    const c = await sent('email');
    const complained = event('email.complained', c.providerId);
    expect((await resend(complained, { id: 'msg_c', ts: now(), sig: `v1,${svixSign('msg_c', now(), complained)}` })).statusCode).toBe(200);
    expect(await row(c.id)).toMatchObject({ state: 'delivered', reason: 'complained: the recipient marked it as spam; email turned off' });
    const prefs = await (await callerFor(app.services, c.userId)).notify.preferences();
    expect(prefs.channels.email).toBe(false);
  });

  it('Resend: a wrong secret, a tampered body, a stale timestamp or missing Svix headers is refused (401) and changes nothing', async () => {
    const a = await sent('email');
    const body = event('email.bounced', a.providerId, { bounce: { type: 'Permanent', message: 'no' } });
    const ts = now();
    const refusals = [
      await resend(body, { id: 'msg_x', ts, sig: `v1,${svixSign('msg_x', ts, body, randomBytes(24))}` }),
      await resend(body.replace('bounced', 'delivered'), { id: 'msg_x', ts, sig: `v1,${svixSign('msg_x', ts, body)}` }),
      await resend(body, { id: 'msg_y', ts, sig: `v1,${svixSign('msg_x', ts, body)}` }),
      await resend(body, { id: 'msg_x', ts: ts - 600, sig: `v1,${svixSign('msg_x', ts - 600, body)}` }),
      await resend(body, { id: 'msg_x', ts, sig: `v2,${svixSign('msg_x', ts, body)}` }),
      await resend(body, { ts, sig: `v1,${svixSign('msg_x', ts, body)}` }),
    ];
    for (const r of refusals) expect([r.statusCode, r.json()]).toEqual([401, { code: 'notify.webhook_invalid' }]);
    expect((await row(a.id)).state).toBe('accepted');
    // Events that are not delivery outcomes, and unknown email ids, are acknowledged and change nothing.
    const opened = event('email.opened', a.providerId);
    expect((await resend(opened, { id: 'msg_o', ts, sig: `v1,${svixSign('msg_o', ts, opened)}` })).json()).toMatchObject({ ok: true, ignored: 'not a delivery event' });
    const unknown = event('email.delivered', 'not-ours');
    expect((await resend(unknown, { id: 'msg_u', ts, sig: `v1,${svixSign('msg_u', ts, unknown)}` })).json()).toMatchObject({ ok: true, ignored: 'unknown email' });
    expect((await row(a.id)).state).toBe('accepted');
  });
});
