import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallDTO } from '@sohbet/protocol';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { manualClock } from '../src/core/clock.ts';
import { rows, sql } from '../src/db/db.ts';
import { notifyRepo } from '../src/notify/notify.repo.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';
import { FakeProviders, fixture, providerEnv } from './notify-fakes.ts';

let seq = 0;
const uid = (p: string) => `${p}${++seq}`;
const cid = () => `ntf-${Date.now().toString(36)}-${(seq++).toString(36).padStart(4, '0')}`;
const expoToken = () => `ExponentPushToken[test${String(++seq).padStart(16, '0')}]`;
const fcmToken = () => `fcm-${String(++seq).padStart(40, 'x')}`;
const voipToken = () => (String(++seq).padStart(4, '0') + 'ab').repeat(11).slice(0, 64);

describe.each(dbKinds)('notification pipeline on %s (manual clock, local provider servers)', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  const clock = manualClock(new Date('2026-03-02T09:00:00Z')); // 13:00 in Baku
  const fakes = new FakeProviders();
  const outbox = async (userId: string) =>
    rows<{ id: number; kind: string; channel: string; state: string; reason: string | null; attempts: number; next_attempt_at: string | Date; priority: string; provider_id: string | null }>(
      app.services.database.db,
      sql`select id, kind, channel, state, reason, attempts, next_attempt_at, priority, provider_id from notify_outbox where user_id = ${userId} order by id`,
    );
  const worker = () => app.services.notifyWorker;

  beforeAll(async () => {
    await fakes.start();
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(testConfig({ ...db.env, ...providerEnv(fakes), NOTIFY_MESSAGE_DELAY_SECONDS: '10', NOTIFY_WORKER_MS: '3600000', NOTIFY_RECEIPT_DELAY_SECONDS: '60', NOTIFY_MAX_ATTEMPTS: '3' }), {
      database: db.database,
      clock,
      notify: { apnsCa: fixture('apns-test.cert.pem') },
    });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
    await fakes.close();
  });

  async function pair(opts: { bDevice?: 'expo' | 'fcm' | 'none' } = {}) {
    const [ua, ub] = [uid('na'), uid('nb')];
    const a = await callerFor(app.services, ua, { name: 'Aysel' });
    const b = await callerFor(app.services, ub, { name: 'Rəşad' });
    const conv = await a.chat.openDirect({ userId: ub });
    let device = null;
    if (opts.bDevice !== 'none') device = await b.notify.registerDevice(opts.bDevice === 'fcm' ? { kind: 'fcm', token: fcmToken() } : { kind: 'expo', token: expoToken() });
    return { a, b, ua, ub, conv, device };
  }

  it('pushes a new message only after the delay, once, with the G4 badge equal to the in-app unread count', async () => {
    const { a, b, ub, conv } = await pair();
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'Salam!' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'Hələ satılır?' });
    const before = fakes.of('expo.send').length;
    await worker().drain();
    expect(fakes.of('expo.send').length).toBe(before); // not due yet
    clock.advance(10_000);
    await worker().drain();
    const sent = fakes.of('expo.send').slice(before).flatMap((r) => r.json);
    expect(sent).toHaveLength(1); // collapsed per conversation: the second message replaced the first
    expect(sent[0].body).toBe('Hələ satılır?');
    expect(sent[0].title).toBe('Aysel');
    const unread = (await b.chat.list()).find((c) => c.id === conv.id)!.unreadCount;
    expect(sent[0].badge).toBe(unread); // G4
    expect(unread).toBe(2);
    const rowsB = await outbox(ub);
    expect(rowsB.map((r) => [r.state, r.reason])).toEqual([['skipped', 'collapsed'], ['accepted', null]]);
  });

  it('drops the push when the message was read within the delay', async () => {
    const { a, b, ub, conv } = await pair();
    const m = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'read me' });
    await b.chat.markRead({ conversationId: conv.id, seq: m.seq });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub)).map((r) => [r.state, r.reason])).toEqual([['skipped', 'read']]);
  });

  it('sends nothing while the recipient has that conversation open on any device, and again once they leave it', async () => {
    const { a, b, ub, conv } = await pair();
    await b.notify.setActive({ conversationId: conv.id, deviceId: 'tablet' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'you are here' });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub)).at(-1)).toMatchObject({ state: 'skipped', reason: 'active' });
    await b.notify.setActive({ conversationId: null, deviceId: 'tablet' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'now you left' });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub)).at(-1)).toMatchObject({ state: 'accepted' });
  });

  it('keeps muted conversations silent', async () => {
    const { a, b, ub, conv } = await pair();
    await b.chat.setMuted({ conversationId: conv.id, muted: true });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'shh' });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub)).at(-1)).toMatchObject({ state: 'skipped', reason: 'muted' });
  });

  it('defers quiet-hours message pushes to the end of the period (trace: "deferred until …"), then sends them with sound; honours per-kind opt-out', async () => {
    const { a, b, ub, conv } = await pair();
    // 13:00 in Baku now: quiet hours 12:00–14:00.
    await b.notify.setPreferences({ quietHours: { start: 12 * 60, end: 14 * 60 }, timeZone: 'Asia/Baku', locale: 'en' });
    const before = fakes.of('expo.send').length;
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'late' });
    clock.advance(10_000);
    await worker().drain();
    expect(fakes.of('expo.send').slice(before)).toHaveLength(0);
    const end = new Date(clock.now());
    end.setUTCHours(10, 0, 0, 0); // 14:00 Baku
    const row = (await outbox(ub)).at(-1)!;
    expect(row).toMatchObject({ state: 'queued', reason: `deferred until ${end.toISOString()} (quiet hours)`, attempts: 0 });
    expect(new Date(row.next_attempt_at).toISOString()).toBe(end.toISOString());
    clock.advance(end.getTime() - clock.now().getTime());
    await worker().drain();
    const sent = fakes.of('expo.send').slice(before).flatMap((r) => r.json);
    expect(sent).toHaveLength(1);
    expect(sent[0].sound).toBe('default');
    expect((await outbox(ub)).at(-1)).toMatchObject({ id: row.id, state: 'accepted', attempts: 1 });
    await b.notify.setPreferences({ quietHours: { start: 0, end: 0 } });
    await b.notify.setPreferences({ kinds: { message: false } });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'off' });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub)).at(-1)).toMatchObject({ state: 'skipped', reason: 'disabled:message' });
  });

  it('a read after a push sends one badge update with the new G4 total', async () => {
    const { a, b, ub, conv } = await pair();
    const m = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'badge' });
    clock.advance(10_000);
    await worker().drain();
    const before = fakes.of('expo.send').length;
    await b.chat.markRead({ conversationId: conv.id, seq: m.seq });
    await b.chat.markRead({ conversationId: conv.id, seq: m.seq }); // no second follow-up
    await worker().drain();
    const sent = fakes.of('expo.send').slice(before).flatMap((r) => r.json);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ badge: 0, data: { kind: 'badge', conversationId: conv.id } });
    expect((await outbox(ub)).map((r) => r.kind)).toEqual(['message', 'badge']);
  });

  it('retries 5xx with exponential backoff, honours Retry-After on 429, then dead-letters with the reason', async () => {
    const { a, ub, conv } = await pair({ bDevice: 'fcm' });
    fakes.fail('fcm.send', { status: 503, body: { error: { status: 'UNAVAILABLE', message: 'down' } } }, { status: 429, body: { error: { status: 'QUOTA_EXCEEDED' } }, headers: { 'retry-after': '120' } }, { status: 500, body: {} });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'retry me' });
    clock.advance(10_000);
    await worker().drain();
    let [r] = await outbox(ub);
    expect(r).toMatchObject({ state: 'queued', attempts: 1 });
    const first = new Date(r!.next_attempt_at).getTime() - clock.now().getTime();
    expect(first).toBeGreaterThanOrEqual(800);
    expect(first).toBeLessThanOrEqual(1200);
    clock.advance(first);
    await worker().drain();
    [r] = await outbox(ub);
    expect(r).toMatchObject({ state: 'queued', attempts: 2 });
    expect(new Date(r!.next_attempt_at).getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(120_000); // Retry-After beats the 2 s backoff
    clock.advance(60_000);
    await worker().drain();
    expect((await outbox(ub))[0]).toMatchObject({ state: 'queued', attempts: 2 }); // not before Retry-After
    clock.advance(60_000);
    await worker().drain();
    [r] = await outbox(ub);
    expect(r).toMatchObject({ state: 'dead', attempts: 3 }); // NOTIFY_MAX_ATTEMPTS=3
    expect(r!.reason).toMatch(/gave up after 3 attempts: HTTP 500/);
    const admin = await callerFor(app.services, uid('admin'), { roles: ['admin'] });
    const dead = await admin.notify.admin.deadLetters({ userId: ub, limit: 10 });
    expect(dead.map((d) => d.id)).toEqual([r!.id]);
    const plain = await callerFor(app.services, uid('plain'));
    expect(await codeOf(plain.notify.admin.deadLetters({ limit: 10 }))).toBe('auth.forbidden');
  });

  it('removes a device the provider reports invalid and drops what still waited for it', async () => {
    const { a, b, ub, conv, device } = await pair({ bDevice: 'fcm' });
    fakes.fail('fcm.send', { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } } });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'gone' });
    clock.advance(10_000);
    await worker().drain();
    expect((await outbox(ub))[0]).toMatchObject({ state: 'dead' });
    expect((await outbox(ub))[0]!.reason).toMatch(/^invalid_token: HTTP 404: UNREGISTERED/);
    expect((await b.notify.devices()).map((d) => d.id)).not.toContain(device!.id);
  });

  it('Expo: tickets then receipts; DeviceNotRegistered in a receipt removes the device', async () => {
    const { a, b, ub, conv } = await pair();
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'receipt' });
    clock.advance(10_000);
    await worker().drain();
    const [r] = await outbox(ub);
    expect(r).toMatchObject({ state: 'accepted' });
    fakes.expoReceipts.set(r!.provider_id!, { status: 'error', message: 'not registered', details: { error: 'DeviceNotRegistered' } });
    clock.advance(60_000);
    await worker().pollReceipts();
    expect((await outbox(ub))[0]).toMatchObject({ state: 'dead' });
    expect(await b.notify.devices()).toEqual([]);
  });

  it('rejects malformed tokens and subscriptions with notify.invalid_token and stores nothing', async () => {
    const u = await callerFor(app.services, uid('bad'));
    expect(await codeOf(u.notify.registerDevice({ kind: 'expo', token: 'not-a-token' }))).toBe('notify.invalid_token');
    expect(await codeOf(u.notify.registerDevice({ kind: 'apns_voip', token: 'zz' }))).toBe('notify.invalid_token');
    expect(await codeOf(u.notify.registerDevice({ kind: 'fcm', token: 'short' }))).toBe('notify.invalid_token');
    expect(await codeOf(u.notify.registerDevice({ kind: 'webpush', subscription: { endpoint: 'http://evil.example/push', keys: { p256dh: 'AAAA', auth: 'BBBB' } } }))).toBe('notify.invalid_token');
    expect(await codeOf(u.notify.setPreferences({ timeZone: 'Mars/Olympus' }))).toBe('notify.invalid_time_zone');
    expect(await codeOf(u.notify.unregisterDevice({ deviceId: 'dev_nope' }))).toBe('notify.device_not_found');
    expect(await u.notify.devices()).toEqual([]);
  });

  it('an outbox row is never added twice for the same event (idempotency key) and concurrent workers never send it twice', async () => {
    const { a, ub, conv } = await pair();
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'once' });
    const [r] = await outbox(ub);
    const payload = { type: 'badge', conversationId: conv.id } as const;
    const again = await notifyRepo.enqueue(app.services.database.db, [{ idempotencyKey: (await rows<{ k: string }>(app.services.database.db, sql`select idempotency_key as k from notify_outbox where id = ${r!.id}`))[0]!.k, userId: ub, kind: 'message', channel: 'expo', deviceId: null, target: 'x', conversationId: conv.id, collapseKey: null, priority: 'normal', payload, dueAt: clock.now() }], clock.now());
    expect(again).toBe(0);
    clock.advance(10_000);
    const before = fakes.of('expo.send').flatMap((x) => x.json).length;
    await Promise.all([worker().sendDue(), worker().sendDue(), worker().sendDue()]);
    expect(fakes.of('expo.send').flatMap((x) => x.json).length - before).toBe(1);
  });

  it('re-sends a row whose worker died mid-send once its lease runs out (same idempotency key)', async () => {
    const { a, ub, conv } = await pair();
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'lease' });
    clock.advance(10_000);
    const now = clock.now();
    const claimed = await notifyRepo.claim(app.services.database.db, now, new Date(now.getTime() + 60_000), 100); // a worker that then crashed
    expect(claimed.map((c) => c.userId)).toContain(ub);
    await worker().drain();
    expect((await outbox(ub))[0]).toMatchObject({ state: 'sending' });
    clock.advance(60_000);
    await worker().drain();
    expect((await outbox(ub))[0]).toMatchObject({ state: 'accepted', attempts: 2 });
  });

  const call = (over: Partial<CallDTO> & Pick<CallDTO, 'id' | 'conversationId' | 'callerId' | 'calleeId'>): CallDTO => ({
    media: 'audio', provider: 'p2p', state: 'ringing', endReason: null, answeredByDevice: null, recording: false,
    createdAt: clock.now().toISOString(), acceptedAt: null, endedAt: null, durationSec: null, ...over,
  });
  const emitCall = (c: CallDTO) => app.services.events.write(async (_tx, emit) => emit([c.callerId, c.calleeId], 'call.updated', { call: c }));

  it('an incoming call rings at once, high priority (FCM data, APNs VoIP), and stops ringing when answered elsewhere', async () => {
    const { ua, ub, b, conv } = await pair({ bDevice: 'fcm' });
    await b.notify.registerDevice({ kind: 'apns_voip', token: voipToken() });
    const before = { fcm: fakes.of('fcm.send').length, apns: fakes.of('apns').length };
    const c = call({ id: `call-${cid()}`, conversationId: conv.id, callerId: ua, calleeId: ub });
    await emitCall(c);
    await worker().drain(); // no clock advance: due at once
    const fcm = fakes.of('fcm.send').slice(before.fcm).map((r) => r.json.message);
    expect(fcm).toHaveLength(1);
    expect(fcm[0]).toMatchObject({ android: { priority: 'HIGH' }, data: { kind: 'call_incoming', callId: c.id, callerName: 'Aysel' } });
    expect(fcm[0].notification).toBeUndefined(); // data-only: the app shows its call UI
    const apns = fakes.of('apns').slice(before.apns);
    expect(apns).toHaveLength(1);
    expect(apns[0]!.headers).toMatchObject({ 'apns-push-type': 'voip', 'apns-topic': 'az.sohbet.app.voip', 'apns-priority': '10' });
    await emitCall({ ...c, state: 'accepted', answeredByDevice: 'conn_other', acceptedAt: clock.now().toISOString() });
    await emitCall({ ...c, state: 'active' }); // a second later state adds no second stop
    await worker().drain();
    const stops = [...fakes.of('fcm.send').slice(before.fcm + 1), ...fakes.of('apns').slice(before.apns + 1)];
    expect(stops).toHaveLength(2);
    expect(stops.map((s) => (s.route === 'apns' ? s.json.kind : s.json.message.data.kind))).toEqual(expect.arrayContaining(['call_stop', 'call_stop']));
  });

  it('an iPhone with an APNs device token gets message alerts with the G4 badge there; with a VoIP token too, calls ring through PushKit only', async () => {
    const { a, ua, ub, b, conv } = await pair({ bDevice: 'none' });
    const alertToken = (String(++seq).padStart(4, '0') + 'cd').repeat(11).slice(0, 64);
    await b.notify.registerDevice({ kind: 'apns', token: alertToken });
    const before = fakes.of('apns').length;
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'iPhone?' });
    clock.advance(10_000);
    await worker().drain();
    const sent = fakes.of('apns').slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe(`/3/device/${alertToken}`);
    expect(sent[0]!.headers).toMatchObject({ 'apns-push-type': 'alert', 'apns-topic': 'az.sohbet.app', 'apns-collapse-id': conv.id });
    expect(sent[0]!.json.aps).toMatchObject({ alert: { title: 'Aysel', body: 'iPhone?' }, badge: 1, 'thread-id': conv.id });
    await b.notify.registerDevice({ kind: 'apns_voip', token: voipToken() });
    const beforeCall = fakes.of('apns').length;
    await emitCall(call({ id: `call-${cid()}`, conversationId: conv.id, callerId: ua, calleeId: ub }));
    await worker().drain();
    expect(fakes.of('apns').slice(beforeCall).map((r) => r.headers['apns-push-type'])).toEqual(['voip']);
  });

  it('a missed call: stop ringing plus a normal push; with no push device and SMS opted in, an SMS instead', async () => {
    const { ua, ub, conv } = await pair();
    const c = call({ id: `call-${cid()}`, conversationId: conv.id, callerId: ua, calleeId: ub });
    await emitCall(c);
    await worker().drain();
    await emitCall({ ...c, state: 'ended', endReason: 'missed', endedAt: clock.now().toISOString() });
    await worker().drain();
    expect((await outbox(ub)).map((r) => [r.kind, r.priority, r.state])).toEqual([
      ['call_incoming', 'high', 'accepted'],
      ['call_stop', 'high', 'accepted'],
      ['missed_call', 'normal', 'accepted'],
    ]);

    const x = await pair({ bDevice: 'none' });
    await x.b.notify.setPreferences({ phone: '+994501234567', channels: { sms: true }, locale: 'en' });
    const before = fakes.of('twilio').length;
    await emitCall(call({ id: `call-${cid()}`, conversationId: x.conv.id, callerId: x.ua, calleeId: x.ub, state: 'ended', endReason: 'missed' }));
    await worker().drain();
    const sms = fakes.of('twilio').slice(before);
    expect(sms).toHaveLength(1);
    expect(sms[0]!.form!.get('To')).toBe('+994501234567');
    expect(sms[0]!.form!.get('Body')).toBe('Sohbet: Aysel tried to call you.');
    expect(sms[0]!.headers.authorization).toBe(`Basic ${Buffer.from('AC0123456789abcdef0123456789abcdef:twilio-test-token').toString('base64')}`);
  });

  it('a support reply to an away customer with no device goes by email (HTML-escaped, localized)', async () => {
    const cust = uid('cust');
    const c = await callerFor(app.services, cust, { name: 'Müştəri' });
    await c.notify.setPreferences({ email: 'cust@example.test', locale: 'az' });
    const op = uid('op');
    const o = await callerFor(app.services, op, { name: '<b>Operator</b>', roles: ['operator'] });
    await o.support.updateMe({ topics: [`t-${cust}`], status: 'available', maxChats: 3 });
    const chat = await c.support.start({ topic: `t-${cust}`, text: 'Kömək edin', clientId: cid() });
    await o.support.accept({ chatId: chat.id });
    await o.chat.send({ conversationId: chat.conversationId, clientId: cid(), text: 'Salam <script>alert(1)</script>' });
    const before = fakes.of('resend').length;
    clock.advance(10_000);
    await worker().drain();
    const mails = fakes.of('resend').slice(before).map((r) => r.json);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: ['cust@example.test'], subject: 'Dəstək xidmətindən yeni cavab', from: 'Sohbet <noreply@sohbet.test>' });
    expect(mails[0].html).toContain('Salam &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mails[0].html).toContain('&lt;b&gt;Operator&lt;/b&gt;');
    expect(mails[0].html).not.toContain('<script>');
  });

  it('the app acknowledges display: the trace reaches the device; /metrics counts outcomes', async () => {
    const { a, b, ub, conv } = await pair();
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'shown' });
    clock.advance(10_000);
    await worker().drain();
    const sent = fakes.of('expo.send').at(-1)!.json.at(-1);
    expect(await b.notify.ackDisplay({ notificationId: sent.data.notificationId })).toEqual({ ok: true });
    const [r] = await rows<{ state: string; displayed_at: unknown }>(app.services.database.db, sql`select state, displayed_at from notify_outbox where user_id = ${ub}`);
    expect(r).toMatchObject({ state: 'delivered' });
    expect(r!.displayed_at).not.toBeNull();
    const res = await app.http.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toMatch(/sohbet_notify_outcomes_total\{channel="expo",kind="message",outcome="accepted"\} [1-9]/);
  });
});
