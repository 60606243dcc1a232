import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/webhooks/webhooks.service.ts';
import { SignJWT } from 'jose';
import { startTestServer, TEST_API_KEY, TEST_SECRET, type TestServer } from './harness.ts';

async function call(s: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

describe('HTTP API', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('answers errors with a stable code and HTTP status, never a stack', async () => {
    const none = await call(s, 'chat.openDirect', { userId: 'x' });
    expect(none.status).toBe(401);
    expect(none.json.error.data.appCode).toBe('auth.missing');
    const bad = await call(s, 'chat.openDirect', { userId: 'x' }, { authorization: 'Bearer nope' });
    expect(bad.json.error.data.appCode).toBe('auth.invalid');
    const expired = await new SignJWT({ name: 'exp' }).setProtectedHeader({ alg: 'HS256' }).setSubject('exp').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(new TextEncoder().encode(TEST_SECRET));
    const list = await fetch(`${s.url}/trpc/chat.list`, { headers: { authorization: `Bearer ${expired}` } });
    expect(list.status).toBe(401);
    expect((await list.json()).error.data.appCode).toBe('auth.expired');
    const t = await s.token('http-u');
    const invalid = await call(s, 'chat.send', { conversationId: 1, text: {} }, { authorization: `Bearer ${t}` });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.data.appCode).toBe('input.invalid');
    expect(JSON.stringify(invalid.json)).not.toMatch(/at .*\.ts:\d+/);
    const missing = await call(s, 'chat.nope', {}, { authorization: `Bearer ${t}` });
    expect(missing.status).toBe(404);
  });

  it('server API: upsert users, open a listing conversation, post a system message — with the API key only', async () => {
    const key = { 'x-api-key': TEST_API_KEY };
    expect((await call(s, 'server.upsertUser', { id: 'host-buyer', name: 'Aysel' })).json.error.data.appCode).toBe('auth.forbidden');
    expect((await call(s, 'server.upsertUser', { id: 'host-buyer', name: 'Aysel' }, { 'x-api-key': 'wrong-key-wrong-key-wrong' })).status).toBe(403);
    await call(s, 'server.upsertUser', { id: 'host-buyer', name: 'Aysel' }, key);
    await call(s, 'server.upsertUser', { id: 'host-seller', name: 'Rəşad', roles: [] }, key);
    const conv = await call(s, 'server.openConversation', { userIds: ['host-buyer', 'host-seller'], context: { type: 'listing', id: 'L-9', title: 'Velosiped' } }, key);
    expect(conv.status).toBe(200);
    const id = conv.json.result.data.id;
    const sys = await call(s, 'server.postSystemMessage', { conversationId: id, clientId: 'sys-listing-sold-1', text: 'Elan satıldı', code: 'listing.sold' }, key);
    expect(sys.json.result.data).toMatchObject({ kind: 'system', senderId: null, text: 'Elan satıldı', seq: 1 });
    const again = await call(s, 'server.postSystemMessage', { conversationId: id, clientId: 'sys-listing-sold-1', text: 'Elan satıldı' }, key);
    expect(again.json.result.data.id).toBe(sys.json.result.data.id);
    const buyerToken = await s.token('host-buyer', { name: 'Aysel' });
    const list = await fetch(`${s.url}/trpc/chat.list`, { headers: { authorization: `Bearer ${buyerToken}` } }).then((r) => r.json());
    expect(list.result.data[0]).toMatchObject({ id, unreadCount: 1, context: { id: 'L-9' } });
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { database: 'ok', bus: 'ok' } });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('sohbet_ws_connections');
    expect(metrics).toContain('sohbet_procedure_calls_total');
  });

  it('refuses the demo sign-in when it is not enabled', async () => {
    const off = await startTestServer({ env: { DEV_LOGIN: '0' } });
    const r = await call(off, 'auth.devLogin', { userId: 'someone' });
    expect(r.status).toBe(403);
    expect(r.json.error.data.appCode).toBe('auth.dev_login_disabled');
    await off.close();
  });
});

describe('webhooks to the host backend', () => {
  it('delivers message.created signed with HMAC and retries a failed delivery with backoff', async () => {
    const received: Array<{ body: string; signature: string }> = [];
    let fail = 1;
    const hook = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (fail-- > 0) return void res.writeHead(503).end();
        received.push({ body, signature: String(req.headers['sohbet-signature']) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as { port: number }).port;
    const s = await startTestServer({ env: { WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, WEBHOOK_SECRET: 'whsec-test' } });
    const a = await s.token('wh-a');
    await s.token('wh-b');
    const conv = await call(s, 'chat.openDirect', { userId: 'wh-b' }, { authorization: `Bearer ${a}` });
    await call(s, 'chat.send', { conversationId: conv.json.result.data.id, clientId: 'wh-client-0001', text: 'hello hook' }, { authorization: `Bearer ${a}` });
    const outbox = s.app.services.webhooks!;
    expect(await outbox.deliverDue()).toBe(0); // first attempt gets 503
    expect(received).toHaveLength(0);
    await s.app.services.database.db.execute((await import('drizzle-orm')).sql`update webhook_outbox set next_attempt_at = now()`);
    expect(await outbox.deliverDue()).toBe(1);
    expect(await outbox.deliverDue()).toBe(0); // never twice
    const [{ body, signature }] = received as [{ body: string; signature: string }];
    const t = Number(/t=(\d+)/.exec(signature)![1]);
    expect(signature).toBe(signWebhook('whsec-test', t, body));
    expect(JSON.parse(body)).toMatchObject({ type: 'message.created', data: { message: { text: 'hello hook' } } });
    await s.close();
    hook.close();
  });
});
