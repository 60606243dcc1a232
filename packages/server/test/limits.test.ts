import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessRateLimiter, RedisRateLimiter, type RateLimiter } from '../src/abuse/rate-limiter.ts';
import { parseConfig } from '../src/config/config.ts';
import { manualClock } from '../src/core/clock.ts';
import { callerFor, codeOf } from './caller.ts';
import { services, startTestServer, TEST_API_KEY, TEST_REDIS_PREFIX, testConfig, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

const limiters: Array<[string, () => RateLimiter]> = [['in-process', () => new InProcessRateLimiter()]];
if (services.redis) limiters.push(['redis', () => new RedisRateLimiter(services.redis!, `${TEST_REDIS_PREFIX}${Math.random().toString(36).slice(2, 8)}:`)]);

describe.each(limiters)('rate limiter contract on %s', (name, make) => {
  it('allows up to the limit, refuses the next with a retry-after, and allows again once it has passed', async () => {
    const l = make();
    const p = { limit: 3, windowMs: 10_000 };
    const t = 1_000_000_000_000;
    for (let i = 0; i < 3; i++) expect((await l.hit('k', p, t + i)).allowed).toBe(true);
    const refused = await l.hit('k', p, t + 5);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect((await l.hit('other', p, t + 5)).allowed).toBe(true);
    expect((await l.hit('k', p, t + 5 + refused.retryAfterMs)).allowed).toBe(true);
    await l.close();
  });

  it.runIf(name === 'redis')('shares one count between instances', async () => {
    const prefix = `${TEST_REDIS_PREFIX}shared-${Math.random().toString(36).slice(2, 8)}:`;
    const a = new RedisRateLimiter(services.redis!, prefix);
    const b = new RedisRateLimiter(services.redis!, prefix);
    const p = { limit: 4, windowMs: 60_000 };
    const t = 2_000_000_000_000;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('shared', p, t)));
    expect(results.filter((r) => r.allowed)).toHaveLength(4);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('abuse limits in the API', () => {
  let s: TestServer;
  const clock = manualClock(new Date());
  beforeAll(async () => {
    s = await startTestServer({ env: { RATE_LIMITS: 'message=8/1m,message.identical=2/10m,conversation.new=4/1h,conversation.new.young_account=2/1h,connect=3/1m,support.start=1/1h,call.start=1/1m,upload=1/1m' }, app: { clock } });
  });
  afterAll(() => s.close());

  it('refuses the message over the limit with rate_limited and a retry-after, stores nothing, and takes messages again later', async () => {
    const a = await callerFor(s.app.services, 'rl-a');
    await callerFor(s.app.services, 'rl-b');
    const conv = await s.app.services.conversations.openDirect('rl-a', { userId: 'rl-b' }, 'server');
    for (let i = 0; i < 8; i++) await a.chat.send({ conversationId: conv.id, clientId: `rl-msg-${i}`, text: `message ${i}` });
    const err = await a.chat.send({ conversationId: conv.id, clientId: 'rl-msg-over', text: 'one too many' }).catch((e) => e);
    expect(err.cause.code).toBe('rate_limited');
    expect(err.cause.details.retryAfterMs).toBeGreaterThan(0);
    const history = await a.chat.history({ conversationId: conv.id });
    expect(history.messages.map((m) => m.clientId)).not.toContain('rl-msg-over');
    // G2: a retry of a stored message is answered even over the limit.
    const again = await a.chat.send({ conversationId: conv.id, clientId: 'rl-msg-2', text: 'message 2' });
    expect(again.seq).toBe(history.messages.find((m) => m.clientId === 'rl-msg-2')!.seq);
    clock.advance(err.cause.details.retryAfterMs);
    await a.chat.send({ conversationId: conv.id, clientId: 'rl-msg-later', text: 'later' });
  });

  it('refuses the same long text sent again and again, but not short replies like "Salam"', async () => {
    const a = await callerFor(s.app.services, 'rl-spam');
    const convs = [];
    for (const peer of ['rl-s1', 'rl-s2', 'rl-s3']) {
      await callerFor(s.app.services, peer);
      convs.push(await s.app.services.conversations.openDirect('rl-spam', { userId: peer }, 'server'));
    }
    const scam = 'Pay here first: http://pay-off-platform.example, 50 AZN deposit';
    await a.chat.send({ conversationId: convs[0]!.id, clientId: 'spam-000001', text: scam });
    await a.chat.send({ conversationId: convs[1]!.id, clientId: 'spam-000002', text: scam });
    expect(await codeOf(a.chat.send({ conversationId: convs[2]!.id, clientId: 'spam-000003', text: `  ${scam.toUpperCase()} ` }))).toBe('rate_limited');
    for (let i = 0; i < 3; i++) await a.chat.send({ conversationId: convs[i]!.id, clientId: `salam-00000${i}`, text: 'Salam' });
  });

  it('lets a new account open only a few new conversations; reopening one and the host backend are not limited', async () => {
    const young = await callerFor(s.app.services, 'rl-young');
    for (const p of ['rl-y1', 'rl-y2', 'rl-y3']) await callerFor(s.app.services, p);
    await young.chat.openDirect({ userId: 'rl-y1' });
    await young.chat.openDirect({ userId: 'rl-y2' });
    expect(await codeOf(young.chat.openDirect({ userId: 'rl-y3' }))).toBe('rate_limited');
    await young.chat.openDirect({ userId: 'rl-y1' }); // already exists: not a new conversation
    const res = await fetch(`${s.url}/trpc/server.openConversation`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ userIds: ['rl-young', 'rl-y3'] }) });
    expect(res.status).toBe(200);
  });

  it('closes a socket that reconnects too often with 4429 and the retry-after', async () => {
    const token = await s.token('rl-sock');
    for (let i = 0; i < 3; i++) {
      const sock = connectSocket(s.wsUrl, token);
      await sock.ready();
      await sock.close();
    }
    const over = connectSocket(s.wsUrl, token);
    for (let i = 0; i < 100 && over.closes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(over.closes[0]?.code).toBe(4429);
    expect(over.closes[0]?.reason).toMatch(/^rate_limited:\d+$/);
    await over.close();
  });

  it('limits new support chats, call starts and uploads per user; a retry of the same chat or call is still answered', async () => {
    const svc = s.app.services;
    // Service calls reject with the AppError itself.
    const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
    for (const u of ['rl-cust', 'rl-callee']) await callerFor(svc, u);
    const chat = await svc.support.start('rl-cust', { topic: 'delivery', text: 'Sifarişim harada?', clientId: 'rl-support-1' });
    expect((await svc.support.start('rl-cust', { topic: 'delivery', text: 'Sifarişim harada?', clientId: 'rl-support-1' })).id).toBe(chat.id);
    expect(await codeOf(svc.support.start('rl-cust', { topic: 'payment', text: 'Ödəniş keçmədi', clientId: 'rl-support-2' }))).toBe('rate_limited');

    const call = await svc.calls.start('rl-cust', { callId: 'rl-call-0001', deviceId: 'dev-1', userId: 'rl-callee', video: false, record: false });
    expect((await svc.calls.start('rl-cust', { callId: 'rl-call-0001', deviceId: 'dev-1', userId: 'rl-callee', video: false, record: false })).id).toBe(call.id);
    expect(await codeOf(svc.calls.start('rl-cust', { callId: 'rl-call-0002', deviceId: 'dev-1', userId: 'rl-callee', video: false, record: false }))).toBe('rate_limited');

    const conv = await svc.conversations.openDirect('rl-cust', { userId: 'rl-callee' }, 'server');
    const ask = { conversationId: conv.id, kind: 'file' as const, name: 'qebz.pdf', size: 1000, mime: 'application/pdf' };
    await svc.media.requestUpload('rl-cust', ask);
    expect(await codeOf(svc.media.requestUpload('rl-cust', ask))).toBe('rate_limited');
  });

  it('refuses a bad RATE_LIMITS at boot with a message per entry', () => {
    expect(() => testConfig({ RATE_LIMITS: 'message=lots' })).toThrow(/RATE_LIMITS: "message=lots"/);
    expect(parseConfig({ RATE_LIMITS: 'message=off' }).limits.message).toBeNull();
  });
});
