import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { rows, sql } from '../src/db/db.ts';
import { anonymousCaller, callerFor, codeOf } from './caller.ts';
import { dbKinds, startTestServer, TEST_API_KEY, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

let n = 0;
const cid = () => `safety-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;

describe.each(dbKinds)('marketplace safety on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    // A webhook target is configured so report.resolved deliveries are queued (the outbox is checked, not the HTTP call).
    s = await startTestServer({ db: kind, env: { WEBHOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_SECRET: 'whsec-test-0123456789' } });
  }, 180_000); // PGlite migrates in WASM: slow on a loaded machine
  afterAll(async () => {
    await s?.close();
  });
  const as = (u: string, roles: string[] = []) => callerFor(s.app.services, u, { roles });
  const server = () => anonymousCaller(s.app.services, { apiKey: TEST_API_KEY });
  const db = () => s.app.services.database.db;

  /** A buyer and a seller with `count` messages, alternating sender (seller first). */
  async function chatWith(prefix: string, count: number) {
    const buyer = await as(`${prefix}-buyer`);
    const seller = await as(`${prefix}-seller`);
    const conv = await buyer.chat.openDirect({ userId: `${prefix}-seller` });
    const sent = [];
    for (let i = 1; i <= count; i++) sent.push(await (i % 2 ? seller : buyer).chat.send({ conversationId: conv.id, clientId: cid(), text: `m${i}` }));
    return { buyer, seller, conv, sent, buyerId: `${prefix}-buyer`, sellerId: `${prefix}-seller` };
  }

  async function events(userId: string): Promise<StreamEvent[]> {
    const page = await s.app.services.stream.since(userId, '0', 1000);
    return page.events;
  }

  it('reports a message with the messages around it as evidence, and refuses what a reporter cannot see', async () => {
    const { buyer, conv, sent, sellerId } = await chatWith('rm', 25);
    const target = sent[14]!; // seq 15, from the seller ("pay by card to +994 …")
    const outsider = await as('rm-outsider');
    const other = await chatWith('rm2', 1);

    expect(await codeOf(outsider.chat.report({ conversationId: conv.id, messageId: target.id, reason: 'scam' }))).toBe('chat.not_member');
    expect(await codeOf(buyer.chat.report({ conversationId: conv.id, messageId: other.sent[0]!.id, reason: 'scam' }))).toBe('chat.message_not_found');
    expect(await codeOf(buyer.chat.report({ conversationId: conv.id, messageId: 'm_nope', reason: 'scam' }))).toBe('chat.message_not_found');
    expect(await codeOf(buyer.chat.report({ conversationId: conv.id, messageId: sent[1]!.id, reason: 'scam' }))).toBe('input.invalid'); // own message
    expect(await codeOf(buyer.chat.report({ messageId: target.id, reason: 'scam' }))).toBe('input.invalid'); // no conversation
    expect(await codeOf(buyer.chat.report({ conversationId: conv.id, messageId: target.id, userId: 'rm-outsider', reason: 'scam' }))).toBe('input.invalid');
    expect((await rows(db(), sql`select 1 from reports where reporter_id = 'rm-buyer'`)).length).toBe(0);

    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: target.id, reason: 'scam', note: 'asks for a card payment' });
    // Deleting the message later hides nothing from the moderators.
    await (await as(sellerId)).chat.delete({ conversationId: conv.id, seq: target.seq, scope: 'everyone' });
    const mod = await as('rm-mod', ['moderator']);
    const report = await mod.safety.report({ reportId });
    expect(report).toMatchObject({ status: 'open', reason: 'scam', reporterId: 'rm-buyer', reportedId: sellerId, messageId: target.id, conversationId: conv.id });
    expect(report.evidence.map((m) => m.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 5)); // 10 before, 10 after
    expect(report.evidence.find((m) => m.id === target.id)!.text).toBe('m15');
    expect(report.users[sellerId]!.name).toBe(sellerId);
    // The host hears about it like about user reports.
    const [hook] = await rows<{ body: string }>(db(), sql`select body from webhook_outbox where type = 'user.reported' order by id desc limit 1`);
    expect(JSON.parse(hook!.body).data).toMatchObject({ reportId, messageId: target.id, reportedId: sellerId });
  }, 120_000); // 25 messages sent one by one

  it('only admins and moderators see the review queue; the queue filters by status', async () => {
    const { buyer, conv, sent } = await chatWith('rq', 2);
    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: sent[0]!.id, reason: 'spam' });
    expect(await codeOf(buyer.safety.reports({}))).toBe('safety.not_moderator');
    expect(await codeOf((await as('rq-operator', ['operator'])).safety.reports({}))).toBe('safety.not_moderator');
    expect(await codeOf(anonymousCaller(s.app.services).safety.reports({}))).toBe('auth.missing');
    expect(await codeOf(anonymousCaller(s.app.services).server.safety.reports({}))).toBe('auth.forbidden');
    const admin = await as('rq-admin', ['admin']);
    expect((await admin.safety.reports({ status: 'open' })).map((r) => r.id)).toContain(reportId);
    await admin.safety.resolve({ reportId, actions: ['dismiss'], note: 'ordinary ad' });
    expect((await admin.safety.reports({ status: 'open' })).map((r) => r.id)).not.toContain(reportId);
    expect((await admin.safety.reports({ status: 'dismissed' })).map((r) => r.id)).toContain(reportId);
    expect((await server().server.safety.reports({ status: 'dismissed', reportedId: 'rq-seller' })).map((r) => r.id)).toEqual([reportId]);
  });

  it('resolving deletes the message for everyone, warns the sender, audits each change and tells the host', async () => {
    const { buyer, conv, sent, sellerId } = await chatWith('rr', 3);
    const target = sent[2]!;
    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: target.id, reason: 'scam' });
    const mod = await as('rr-mod', ['moderator']);
    expect(await codeOf(mod.safety.resolve({ reportId, actions: ['dismiss', 'warn'] }))).toBe('input.invalid');
    expect(await codeOf(mod.safety.resolve({ reportId: 999_999, actions: ['warn'] }))).toBe('safety.report_not_found');
    const done = await mod.safety.resolve({ reportId, actions: ['delete_message', 'warn'], message: 'Do not ask buyers to pay outside the app.', note: 'first time' });
    expect(done).toMatchObject({ status: 'resolved', resolvedBy: 'rr-mod', resolution: { actions: ['delete_message', 'warn'], note: 'first time' } });
    // Everyone sees it deleted, like an author's delete.
    const page = await buyer.chat.history({ conversationId: conv.id });
    expect(page.messages.find((m) => m.seq === target.seq)).toMatchObject({ text: null, deletedAt: expect.any(String) });
    expect((await events('rr-buyer')).some((e) => e.type === 'chat.message.deleted' && e.data.seq === target.seq)).toBe(true);
    // The sender (only) is warned, on their durable stream.
    const warning = (await events(sellerId)).find((e) => e.type === 'safety.warning');
    expect(warning?.data).toEqual({ reportId, reason: 'scam', message: 'Do not ask buyers to pay outside the app.' });
    expect((await events('rr-buyer')).some((e) => e.type === 'safety.warning')).toBe(false);
    // A second decision is refused and changes nothing.
    expect(await codeOf(mod.safety.resolve({ reportId, actions: ['suspend'] }))).toBe('safety.report_closed');
    expect(await codeOf((await as(sellerId)).users.me())).toBe('no error');

    const admin = await as('rr-admin', ['admin']);
    const audit = await admin.safety.audit({ actorId: 'rr-mod' });
    expect(audit.map((a) => a.action).sort()).toEqual(['message.delete', 'report.resolve', 'user.warn']);
    expect(audit.find((a) => a.action === 'message.delete')).toMatchObject({ actorKind: 'user', targetType: 'message', targetId: target.id });
    const [hook] = await rows<{ body: string }>(db(), sql`select body from webhook_outbox where type = 'report.resolved' order by id desc limit 1`);
    expect(JSON.parse(hook!.body).data).toMatchObject({ reportId, status: 'resolved', actions: ['delete_message', 'warn'], resolvedBy: 'rr-mod', reportedId: sellerId });
  });

  it('two moderators deciding the same report at once: exactly one decision is applied', async () => {
    const { buyer, conv, sent } = await chatWith('rc', 1);
    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: sent[0]!.id, reason: 'abuse' });
    const [a, b] = [await as('rc-mod1', ['moderator']), await as('rc-mod2', ['moderator'])];
    const results = await Promise.all([codeOf(a.safety.resolve({ reportId, actions: ['warn'] })), codeOf(b.safety.resolve({ reportId, actions: ['dismiss'] }))]);
    expect(results.sort()).toEqual(['no error', 'safety.report_closed']);
    const entries = await rows(db(), sql`select 1 from audit_log where action = 'report.resolve' and target_id = ${String(reportId)}`);
    expect(entries.length).toBe(1);
  });

  it('a suspended user is refused with auth.suspended and their socket is closed; an admin lifts it', async () => {
    const { buyer, conv, sent, sellerId } = await chatWith('rs', 1);
    const socket = connectSocket(s.wsUrl, await s.token(sellerId));
    await socket.ready();
    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: sent[0]!.id, reason: 'scam' });
    const mod = await as('rs-mod', ['moderator']);
    await mod.safety.resolve({ reportId, actions: ['suspend', 'block'], message: 'Scam', suspendHours: 24 });

    await expect.poll(() => socket.closes[0], { timeout: 5000 }).toEqual({ code: 4403, reason: 'auth.suspended' });
    await socket.close();
    // Every new request with their (still unexpired) token is refused, with the end of the suspension.
    const res = await fetch(`${s.url}/trpc/users.me`, { headers: { authorization: `Bearer ${await s.token(sellerId)}` } });
    const body = (await res.json()) as { error: { data: { appCode: string; details: { until: string } } } };
    expect(res.status).toBe(403);
    expect(body.error.data.appCode).toBe('auth.suspended');
    expect(new Date(body.error.data.details.until).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(await codeOf((await as(sellerId)).chat.send({ conversationId: conv.id, clientId: cid(), text: 'hello?' }))).toBe('auth.suspended');
    // `block`: the reporter no longer gets their messages.
    expect(await buyer.users.blocked()).toContain(sellerId);
    expect((await mod.safety.report({ reportId })).reportedSuspended).toBe(true);
    expect((await mod.safety.suspensions()).map((x) => x.userId)).toContain(sellerId);

    // Moderators suspend; only admins (and the host backend) lift.
    expect(await codeOf(mod.safety.lift({ userId: sellerId }))).toBe('safety.not_moderator');
    expect(await (await as('rs-admin', ['admin'])).safety.lift({ userId: sellerId })).toEqual({ lifted: true });
    expect(await codeOf((await as(sellerId)).users.me())).toBe('no error');
    expect(await (await as('rs-admin', ['admin'])).safety.lift({ userId: sellerId })).toEqual({ lifted: false });
    const audit = await (await as('rs-admin', ['admin'])).safety.audit({ targetType: 'user', targetId: sellerId });
    expect(audit.map((a) => `${a.actorId}:${a.action}`)).toEqual(['rs-admin:user.unsuspend', 'rs-mod:user.block', 'rs-mod:user.suspend']);
  });

  it('the host backend suspends, lifts and resolves with the server API key, audited as "server"', async () => {
    const { buyer, conv, sent, sellerId } = await chatWith('rh', 1);
    const { reportId } = await buyer.chat.report({ conversationId: conv.id, messageId: sent[0]!.id, reason: 'spam' });
    expect(await codeOf(buyer.server.safety.suspend({ userId: sellerId, reason: 'x' }))).toBe('auth.forbidden');
    await server().server.safety.suspend({ userId: sellerId, reason: 'chargeback fraud', hours: 1 });
    expect(await codeOf((await as(sellerId)).users.me())).toBe('auth.suspended');
    expect(await codeOf(server().server.safety.suspend({ userId: 'rh-nobody', reason: 'x' }))).toBe('user.not_found');
    await server().server.safety.lift({ userId: sellerId });
    expect(await codeOf((await as(sellerId)).users.me())).toBe('no error');
    const done = await server().server.safety.resolve({ reportId, actions: ['warn'], message: 'Please keep it on topic' });
    expect(done).toMatchObject({ status: 'resolved', resolvedBy: 'server' });
    const audit = await server().server.safety.audit({ actorId: 'server', targetId: sellerId });
    expect(audit.map((a) => a.action)).toEqual(['user.warn', 'user.unsuspend', 'user.suspend']);
    expect(audit.every((a) => a.actorKind === 'server')).toBe(true);
  });

  it('audits server-API changes to users: created, changed, and not again when nothing changed', async () => {
    await server().server.upsertUser({ id: 'au-seller', name: 'Rəşad', roles: [] });
    await server().server.upsertUser({ id: 'au-seller', name: 'Rəşad', roles: [] });
    await server().server.upsertUser({ id: 'au-seller', name: 'Rəşad M.', roles: ['seller'] });
    const conv = await server().server.openConversation({ userIds: ['au-seller', (await as('au-buyer'), 'au-buyer')] });
    await server().server.postSystemMessage({ conversationId: conv.id, clientId: cid(), text: 'Elan satıldı', code: 'listing.sold' });
    const admin = await as('au-admin', ['admin']);
    const mine = await admin.safety.audit({ targetId: 'au-seller' });
    expect(mine.map((a) => a.action)).toEqual(['user.update', 'user.create']);
    expect(mine[0]!.details).toEqual({ before: { name: 'Rəşad', avatarUrl: null, roles: [] }, after: { name: 'Rəşad M.', avatarUrl: null, roles: ['seller'] } });
    const posted = await admin.safety.audit({ action: 'server.postSystemMessage', targetId: conv.id });
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ actorId: 'server', targetType: 'conversation', details: { input: { text: 'Elan satıldı' } } });
  });

  it('audits support priority changes by admins and by the host backend, not by plain operators', async () => {
    const customer = await as('ap-customer');
    const chat = await customer.support.start({ topic: 'safety-audit', text: 'Sifariş gecikir', clientId: cid() });
    await (await as('ap-op', ['operator'])).support.setPriority({ chatId: chat.id, priority: 'high' });
    await (await as('ap-super', ['operator', 'admin'])).support.setPriority({ chatId: chat.id, priority: 'urgent' });
    await server().server.support.setPriority({ chatId: chat.id, priority: 'low' });
    const audit = await (await as('ap-admin', ['admin'])).safety.audit({ targetType: 'chat', targetId: chat.id });
    expect(audit.map((a) => `${a.actorId}:${a.action}:${(a.details.input as { priority: string }).priority}`)).toEqual([
      'server:server.support.setPriority:low',
      'ap-super:support.setPriority:urgent',
    ]);
  });

  it('the audit log is for admins, newest first, paged with `before`', async () => {
    for (let i = 0; i < 5; i++) await server().server.upsertUser({ id: `ap-${i}`, name: `User ${i}`, roles: [] });
    expect(await codeOf((await as('ap-mod', ['moderator'])).safety.audit({}))).toBe('safety.not_moderator');
    const admin = await as('ap-admin', ['admin']);
    const first = await admin.safety.audit({ action: 'user.create', limit: 3 });
    expect(first).toHaveLength(3);
    expect(first[0]!.id).toBeGreaterThan(first[1]!.id);
    const next = await admin.safety.audit({ action: 'user.create', limit: 3, before: first[2]!.id });
    expect(next.every((a) => a.id < first[2]!.id)).toBe(true);
    expect(new Set([...first, ...next].map((a) => a.targetId)).size).toBe(first.length + next.length);
    expect(await codeOf(admin.safety.audit({ limit: 1000 }))).toBe('input.invalid');
  });
});
