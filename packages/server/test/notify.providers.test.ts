import { createECDH, createPublicKey, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config.ts';
import { createLogger } from '../src/core/logger.ts';
import type { OutboxKind, OutboxChannel } from '../src/notify/notify.domain.ts';
import type { OutboxRow } from '../src/notify/notify.repo.ts';
import type { Outgoing, Provider } from '../src/notify/providers/provider.ts';
import { createProviders } from '../src/notify/providers/registry.ts';
import { SmtpProvider } from '../src/notify/providers/email.ts';
import { FakeProviders, fixture, jwtOf, providerEnv, startSmtp, VAPID } from './notify-fakes.ts';

const ece = createRequire(import.meta.url)('http_ece') as { decrypt(buf: Buffer, p: { version: string; privateKey: ReturnType<typeof createECDH>; authSecret: Buffer }): Buffer };

let n = 0;
function item(channel: OutboxChannel, target: string, over: { kind?: OutboxKind; priority?: 'high' | 'normal'; payload?: object; email?: Outgoing['email']; sms?: string } = {}): Outgoing {
  const id = ++n;
  const row: OutboxRow = {
    id, idempotencyKey: `test:${id}:${channel}`, userId: 'u1', kind: over.kind ?? 'message', channel, deviceId: `dev_${id}`, target, conversationId: 'c_1',
    collapseKey: `msg:c_1:dev_${id}`, priority: over.priority ?? 'normal',
    payload: (over.payload ?? { type: 'message', conversationId: 'c_1', seq: 1, messageId: 'm_1', senderName: 'Aysel', text: 'Salam', title: null, support: false }) as OutboxRow['payload'],
    state: 'sending', reason: null, attempts: 1, nextAttemptAt: new Date(), providerId: null, createdAt: new Date(), acceptedAt: null, deliveredAt: null, displayedAt: null,
  };
  const data: Record<string, string> = { notificationId: String(id), kind: row.kind };
  for (const [k, v] of Object.entries(row.payload)) if (typeof v === 'string' || typeof v === 'number') data[k] = String(v);
  return { row, locale: 'az', title: 'Aysel', body: 'Salam', badge: 3, silent: false, data, email: over.email, sms: over.sms };
}

describe('notification providers: the real clients against local servers speaking each documented contract', () => {
  const fakes = new FakeProviders();
  let providers: Map<OutboxChannel, Provider>;
  const p = (c: OutboxChannel) => providers.get(c)!;
  beforeAll(async () => {
    await fakes.start();
    const cfg = parseConfig({ NODE_ENV: 'test', ...providerEnv(fakes, { NOTIFY_TIMEOUT_MS: '400' }) });
    providers = createProviders(cfg.notify, createLogger('silent'), { apnsCa: fixture('apns-test.cert.pem'), now: () => new Date() });
  });
  afterAll(async () => {
    for (const x of providers.values()) await x.close?.();
    await fakes.close();
  });

  it('enables every configured provider', () => {
    expect([...providers.keys()].sort()).toEqual(['apns', 'apns_voip', 'email', 'expo', 'fcm', 'sms', 'webpush']);
  });

  it('Expo: one POST per 100 messages with the access token; per-ticket errors map to outcomes', async () => {
    const before = fakes.of('expo.send').length;
    const items = Array.from({ length: 150 }, () => item('expo', 'ExponentPushToken[abcdefghijklmnop]'));
    const out = await p('expo').send(items);
    const reqs = fakes.of('expo.send').slice(before);
    expect(reqs.map((r) => r.json.length)).toEqual([100, 50]);
    expect(reqs[0]!.headers.authorization).toBe('Bearer expo-test-token');
    expect(reqs[0]!.json[0]).toMatchObject({ to: 'ExponentPushToken[abcdefghijklmnop]', title: 'Aysel', body: 'Salam', badge: 3, sound: 'default' });
    expect(out.every((o) => o.ok)).toBe(true);
    fakes.fail('expo.send', { status: 200, body: { data: [{ status: 'error', message: 'not registered', details: { error: 'DeviceNotRegistered' } }, { status: 'ok', id: 't-2' }] } });
    const two = await p('expo').send([item('expo', 'ExponentPushToken[a]'), item('expo', 'ExponentPushToken[b]')]);
    expect(two[0]).toMatchObject({ ok: false, invalidToken: true, retry: false });
    expect(two[1]).toMatchObject({ ok: true, providerId: 't-2' });
    fakes.fail('expo.send', { status: 429, body: { errors: [{ code: 'TOO_MANY', message: 'slow down' }] }, headers: { 'retry-after': '7' } });
    expect((await p('expo').send([item('expo', 'ExponentPushToken[c]')]))[0]).toMatchObject({ ok: false, retry: true, retryAfterMs: 7000 });
  });

  it('FCM v1: exchanges a JWT signed with the service account key at its token_uri, then sends with the bearer token', async () => {
    const out = await p('fcm').send([item('fcm', 'fcm-token-0'), item('fcm', 'fcm-token-00'), item('fcm', 'fcm-token-1', { kind: 'call_incoming', priority: 'high', payload: { type: 'call_incoming', callId: 'k1', conversationId: 'c_1', callerId: 'a', callerName: 'Aysel', media: 'audio' } })]);
    expect(out.every((o) => o.ok)).toBe(true);
    const tok = fakes.of('fcm.token').at(-1)!;
    expect(tok.form!.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const pub = createPublicKey(fixture('fcm-sa.key.pem')).export({ type: 'spki', format: 'pem' }).toString();
    const { payload } = await jwtVerify(tok.form!.get('assertion')!, await importSPKI(pub, 'RS256'), { audience: `${fakes.url}/oauth2/token`, issuer: 'push@sohbet-test.iam.gserviceaccount.com' });
    expect(payload.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
    const send = fakes.of('fcm.send').at(-1)!;
    expect(send.path).toBe('/v1/projects/sohbet-test/messages:send');
    expect(String(send.headers.authorization)).toMatch(/^Bearer ya29\.test-/);
    expect(send.json.message).toMatchObject({ token: 'fcm-token-1', android: { priority: 'HIGH', ttl: '30s' } });
    expect(Object.values(send.json.message.data).every((v) => typeof v === 'string')).toBe(true); // FCM data values must be strings
    // Concurrent sends share one token exchange.
    expect(fakes.of('fcm.token').length).toBe(1);
    // 401: one token refresh, then success.
    fakes.fail('fcm.send', { status: 401, body: { error: { status: 'UNAUTHENTICATED' } } });
    const tokens = fakes.of('fcm.token').length;
    expect((await p('fcm').send([item('fcm', 'fcm-token-2')]))[0]).toMatchObject({ ok: true });
    expect(fakes.of('fcm.token').length).toBe(tokens + 1);
  });

  it('APNs: HTTP/2 over TLS with an ES256 provider token, VoIP topic and push type, invalid tokens and 429 mapped', async () => {
    const out = await p('apns_voip').send([item('apns_voip', 'ab'.repeat(32), { kind: 'call_incoming', priority: 'high', payload: { type: 'call_incoming', callId: 'k2', conversationId: 'c_1', callerId: 'a', callerName: 'Aysel', media: 'video' } })]);
    expect(out[0]).toMatchObject({ ok: true });
    const req = fakes.of('apns').at(-1)!;
    expect(req.path).toBe(`/3/device/${'ab'.repeat(32)}`);
    expect(req.headers).toMatchObject({ 'apns-topic': 'az.sohbet.app.voip', 'apns-push-type': 'voip', 'apns-priority': '10', 'apns-collapse-id': 'k2' });
    const { header, claims } = jwtOf(req.headers.authorization);
    expect(header).toMatchObject({ alg: 'ES256', kid: 'ABC123DEFG' });
    expect(claims.iss).toBe('TEAM123456');
    const pub = createPublicKey(fixture('apns-authkey.p8')).export({ type: 'spki', format: 'pem' }).toString();
    await jwtVerify(String(req.headers.authorization).slice(7), await importSPKI(pub, 'ES256'));
    fakes.fail('apns', { status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } }, { status: 400, body: { reason: 'BadDeviceToken' } }, { status: 429, body: { reason: 'TooManyRequests' } }, { status: 503, body: { reason: 'ServiceUnavailable' } });
    const r = await p('apns_voip').send([1, 2, 3, 4].map(() => item('apns_voip', 'cd'.repeat(32))));
    expect(r.map((x) => (x.ok ? 'ok' : `${x.retry}/${x.invalidToken ?? false}`))).toEqual(['false/true', 'false/true', 'true/false', 'true/false']);
  });

  it('APNs alerts: a regular device token gets apns-push-type alert on the app topic, title/body, the G4 badge and one collapse id per conversation', async () => {
    const token = 'ef'.repeat(32);
    const out = await p('apns').send([item('apns', token)]);
    expect(out[0]).toMatchObject({ ok: true });
    const req = fakes.of('apns').at(-1)!;
    expect(req.path).toBe(`/3/device/${token}`);
    expect(req.headers).toMatchObject({ 'apns-topic': 'az.sohbet.app', 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': 'c_1' });
    expect(req.json).toMatchObject({ aps: { alert: { title: 'Aysel', body: 'Salam' }, badge: 3, sound: 'default', 'thread-id': 'c_1' }, conversationId: 'c_1', kind: 'message' });
    // Quiet hours (a support reply): no sound. A badge follow-up: a background push with the new count.
    await p('apns').send([{ ...item('apns', token, { kind: 'support_reply' }), silent: true }]);
    expect(fakes.of('apns').at(-1)!.json.aps).toEqual({ alert: { title: 'Aysel', body: 'Salam' }, badge: 3, 'thread-id': 'c_1' });
    await p('apns').send([{ ...item('apns', token, { kind: 'badge', payload: { type: 'badge', conversationId: 'c_1' } }), title: null, body: null, badge: 0 }]);
    const bg = fakes.of('apns').at(-1)!;
    expect(bg.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5', 'apns-topic': 'az.sohbet.app', 'apns-collapse-id': 'c_1' });
    expect(bg.json.aps).toEqual({ 'content-available': 1, badge: 0 });
    fakes.fail('apns', { status: 400, body: { reason: 'DeviceTokenNotForTopic' } });
    expect((await p('apns').send([item('apns', token)]))[0]).toMatchObject({ ok: false, invalidToken: true });
  });

  it('Web Push: a VAPID-signed, aes128gcm-encrypted payload that the subscription’s private key decrypts', async () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const endpoint = `${fakes.url}/push/sub-1`;
    const it1 = item('webpush', endpoint, { payload: { type: 'message', conversationId: 'c_1', seq: 1, messageId: 'm', senderName: 'Aysel', text: 'Salam', title: null, support: false, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } } });
    expect((await p('webpush').send([it1]))[0]).toMatchObject({ ok: true });
    const req = fakes.of('webpush').at(-1)!;
    expect(req.headers['content-encoding']).toBe('aes128gcm');
    expect(req.headers.urgency).toBe('normal');
    const vapid = /^vapid t=([^,]+), k=(.+)$/.exec(String(req.headers.authorization))!;
    expect(vapid[2]).toBe(VAPID.publicKey);
    expect(jwtOf(vapid[1]).claims.aud).toBe(fakes.url);
    const plain = JSON.parse(ece.decrypt(req.raw, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth }).toString());
    expect(plain).toMatchObject({ title: 'Aysel', body: 'Salam', badge: 3, data: { kind: 'message', conversationId: 'c_1' } });
    fakes.fail('webpush', { status: 410, body: {} });
    expect((await p('webpush').send([it1]))[0]).toMatchObject({ ok: false, invalidToken: true });
  });

  it('Resend: bearer key, Idempotency-Key, 422 is permanent, 5xx retried; timeouts are retried', async () => {
    const email = { subject: 'S', text: 't', html: '<p>t</p>' };
    const out = await p('email').send([item('email', 'x@example.test', { email })]);
    expect(out[0]).toMatchObject({ ok: true });
    const req = fakes.of('resend').at(-1)!;
    expect(req.headers.authorization).toBe('Bearer re_test_key');
    expect(req.headers['idempotency-key']).toMatch(/^test:\d+:email$/);
    expect(req.json).toMatchObject({ from: 'Sohbet <noreply@sohbet.test>', to: ['x@example.test'], subject: 'S', html: '<p>t</p>' });
    fakes.fail('resend', { status: 422, body: { name: 'validation_error', message: 'Invalid `to` field.' } }, { status: 500, body: { message: 'oops' } }, { hang: true, status: 0 });
    const r = await p('email').send([1, 2, 3].map(() => item('email', 'x@example.test', { email })));
    expect(r[0]).toMatchObject({ ok: false, retry: false, reason: 'HTTP 422: Invalid `to` field.' });
    expect(r[1]).toMatchObject({ ok: false, retry: true });
    expect(r[2]).toMatchObject({ ok: false, retry: true, reason: 'timeout' });
  });

  it('Twilio: form body with Basic auth; an invalid number (400 21211) is permanent, 429 retried', async () => {
    expect((await p('sms').send([item('sms', '+994501112233', { sms: 'Salam' })]))[0]).toMatchObject({ ok: true });
    const req = fakes.of('twilio').at(-1)!;
    expect(req.path).toBe('/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json');
    expect(Object.fromEntries(req.form!)).toEqual({ To: '+994501112233', From: '+15005550006', Body: 'Salam' });
    fakes.fail('twilio', { status: 400, body: { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 } }, { status: 429, body: { code: 20429, message: 'Too Many Requests' } });
    const r = await p('sms').send([item('sms', '+1', { sms: 'x' }), item('sms', '+1', { sms: 'x' })]);
    expect(r[0]).toMatchObject({ ok: false, retry: false });
    expect((r[0] as { reason: string }).reason).toContain('21211');
    expect(r[1]).toMatchObject({ ok: false, retry: true });
  });

  it('SMTP: nodemailer delivers to a real SMTP server; a 550 rejection is permanent; a dead server is retried', async () => {
    const smtp = await startSmtp({ rejectRcpt: (a) => a.startsWith('nobody@') });
    const provider = new SmtpProvider({ url: smtp.url, from: 'Sohbet <noreply@sohbet.test>' }, { fetch, timeoutMs: 2000, concurrency: 2 });
    try {
      const email = { subject: 'Dəstək xidmətindən yeni cavab', text: 'Salam', html: '<p>Salam &lt;b&gt;</p>' };
      const r = await provider.send([item('email', 'cust@example.test', { email }), item('email', 'nobody@example.test', { email })]);
      expect(r[0]).toMatchObject({ ok: true });
      expect(r[1]).toMatchObject({ ok: false, retry: false });
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]!.to).toEqual(['cust@example.test']);
      expect(smtp.mails[0]!.raw).toMatch(/Message-ID: <[0-9a-f]{32}@sohbet>/i);
      expect(smtp.mails[0]!.raw).toContain('Subject: =?UTF-8?');
    } finally {
      await provider.close();
      await smtp.close();
    }
    const down = new SmtpProvider({ url: smtp.url, from: 'a@b.c' }, { fetch, timeoutMs: 1000, concurrency: 1 });
    expect((await down.send([item('email', 'x@example.test', { email: { subject: 's', text: 't', html: 'h' } })]))[0]).toMatchObject({ ok: false, retry: true });
    await down.close();
  });
});
