import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { manualClock } from '../src/core/clock.ts';
import { rows, sql } from '../src/db/db.ts';
import { anonymousCaller, callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, TEST_API_KEY, testConfig } from './harness.ts';

let n = 0;
const cid = () => `desk-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;
let topicN = 0;
const freshTopic = () => `d${topicN++}`;

describe.each(dbKinds)('support desk (notices, CSAT, notes, canned, team transfer, timers, supervisor) on %s', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  const clock = manualClock();
  beforeAll(async () => {
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(
      testConfig({
        ...db.env, SUPPORT_OFFER_TIMEOUT_SECONDS: '600', SUPPORT_OPERATOR_GRACE_SECONDS: '60', SUPPORT_SWEEP_MS: '60000',
        SUPPORT_SLA_WAIT_SECONDS: '120', SUPPORT_SLA_FIRST_RESPONSE_SECONDS: '90', SUPPORT_INACTIVITY_CLOSE_SECONDS: '7200',
      }),
      { database: db.database, clock },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });
  const customer = (u: string) => callerFor(app.services, u, { name: u.toUpperCase() });
  const operator = async (u: string, o: { topics: string[]; maxChats?: number; admin?: boolean }) => {
    const c = await callerFor(app.services, u, { name: `Op ${u}`, roles: o.admin ? ['operator', 'admin'] : ['operator'] });
    await c.support.updateMe({ topics: o.topics, maxChats: o.maxChats ?? 3, status: 'available' });
    return c;
  };
  const eventsOf = (userId: string, type: string) =>
    rows<{ data: unknown }>(app.services.database.db, sql`select data from user_events where user_id = ${userId} and type = ${type} order by seq`);
  /** Resolves every open chat of a topic, so timers of one test do not act on another test's chats. */
  const settle = async (topic: string) => {
    await app.services.database.db.execute(sql`update support_chats set state = 'resolved', resolved_at = now() where topic = ${topic} and state <> 'resolved'`);
    await app.services.database.db.execute(sql`update support_operators set active_chats = 0, status = 'offline' where ${topic} = any(topics)`);
  };

  it('system notices carry a code and params the apps translate, with a plain-text fallback; the support conversation title too', async () => {
    const topic = freshTopic();
    const op = await operator('desk-op-n', { topics: [topic] });
    const c = await customer('desk-cust-n');
    const chat = await c.support.start({ topic, text: 'where is my parcel', clientId: cid() });
    await op.support.accept({ chatId: chat.id });
    await op.support.resolve({ chatId: chat.id });
    const notices = (await c.chat.history({ conversationId: chat.conversationId })).messages.filter((m) => m.kind === 'system');
    expect(notices.map((m) => m.payload)).toEqual([
      { type: 'notice', code: 'support.operator_joined', params: { name: 'Op desk-op-n', userId: 'desk-op-n' } },
      { type: 'notice', code: 'support.resolved', params: {} },
    ]);
    expect(notices.map((m) => m.text)).toEqual(['Op desk-op-n joined', 'Resolved']);
    const conv = (await c.chat.list()).find((x) => x.id === chat.conversationId)!;
    expect(conv.title).toBe(`Support · ${topic}`);
    expect(conv.titleCode).toEqual({ code: 'support.title', params: { topic } });
    await settle(topic);
  });

  it('lets the customer rate a resolved chat once (1-5 + comment); operators and the supervisor see it; bad ratings change nothing', async () => {
    const topic = freshTopic();
    const op = await operator('desk-op-r', { topics: [topic], admin: true });
    const c = await customer('desk-cust-r');
    const chat = await c.support.start({ topic, text: 'refund?', clientId: cid() });
    expect(await codeOf(c.support.rate({ chatId: chat.id, score: 5 }))).toBe('support.invalid_state');
    await op.support.accept({ chatId: chat.id });
    await op.support.resolve({ chatId: chat.id });
    expect(await codeOf(c.support.rate({ chatId: chat.id, score: 6 }))).toBe('input.invalid');
    expect(await codeOf((await customer('desk-snoop')).support.rate({ chatId: chat.id, score: 1 }))).toBe('support.not_found');
    expect(await codeOf(op.support.rate({ chatId: chat.id, score: 1 }))).toBe('support.not_found');
    const rated = await c.support.rate({ chatId: chat.id, score: 4, comment: 'quick, thanks' });
    expect(rated.csat).toMatchObject({ score: 4, comment: 'quick, thanks' });
    expect(await codeOf(c.support.rate({ chatId: chat.id, score: 1 }))).toBe('support.already_rated');
    expect((await op.support.get({ chatId: chat.id })).csat).toMatchObject({ score: 4 });
    const m = await op.support.metrics();
    expect(m.csat.count).toBeGreaterThanOrEqual(1);
    expect(m.timeToAssign.count).toBeGreaterThanOrEqual(1);
    await settle(topic);
  });

  it('keeps internal notes among operators: never in the conversation, never on the customer stream', async () => {
    const topic = freshTopic();
    const op = await operator('desk-op-note', { topics: [topic] });
    const other = await operator('desk-op-note2', { topics: ['elsewhere'] });
    const c = await customer('desk-cust-note');
    const chat = await c.support.start({ topic, text: 'my account is locked', clientId: cid() });
    await op.support.accept({ chatId: chat.id });
    const note = await op.support.addNote({ chatId: chat.id, text: 'customer flagged for fraud check' });
    expect(note.author.id).toBe('desk-op-note');
    expect((await other.support.notes({ chatId: chat.id })).map((x) => x.text)).toEqual(['customer flagged for fraud check']);
    expect(await codeOf(c.support.notes({ chatId: chat.id }))).toBe('support.not_operator');
    expect(await codeOf(c.support.addNote({ chatId: chat.id, text: 'x' }))).toBe('support.not_operator');
    const texts = (await c.chat.history({ conversationId: chat.conversationId })).messages.map((m) => m.text);
    expect(texts.join(' ')).not.toContain('fraud');
    expect(await eventsOf('desk-cust-note', 'support.note.created')).toEqual([]);
    expect((await eventsOf('desk-op-note2', 'support.note.created')).length).toBe(1);
    await settle(topic);
  });

  it('offers canned responses per operator and per team; team responses need a supervisor', async () => {
    const topic = freshTopic();
    const op = await operator('desk-op-c', { topics: [topic] });
    const boss = await operator('desk-boss-c', { topics: [], admin: true });
    const outsider = await operator('desk-op-c2', { topics: ['not-' + topic] });
    expect(await codeOf(op.support.addCanned({ title: 'Team hi', text: 'x', topic }))).toBe('support.not_supervisor');
    const mine = await op.support.addCanned({ title: 'My sign-off', text: 'Have a nice day!' });
    const team = await boss.support.addCanned({ title: 'Delivery times', text: 'Parcels arrive in 2-3 days.', topic });
    expect((await op.support.canned()).map((x) => x.id).sort()).toEqual([mine.id, team.id].sort());
    expect((await outsider.support.canned()).map((x) => x.id)).not.toContain(team.id);
    expect((await outsider.support.canned()).map((x) => x.id)).not.toContain(mine.id);
    expect(await codeOf(outsider.support.deleteCanned({ id: mine.id }))).toBe('support.not_supervisor');
    await op.support.deleteCanned({ id: mine.id });
    expect((await op.support.canned()).map((x) => x.id)).toEqual([team.id]);
    await boss.support.updateMe({ status: 'offline' }); // serves every topic: keep it out of later tests' routing
  });

  it('G5: transfers to a team: back to the queue for that topic at its original place, offered to that team, the old owner freed', async () => {
    const [from, to] = [freshTopic(), freshTopic()];
    const a = await operator('desk-op-ta', { topics: [from], maxChats: 1 });
    const c = await customer('desk-cust-t');
    const chat = await c.support.start({ topic: from, text: 'this is about payment really', clientId: cid() });
    await a.support.accept({ chatId: chat.id });
    expect(await codeOf(a.support.transfer({ chatId: chat.id, toOperatorId: 'desk-op-ta', toTopic: to }))).toBe('input.invalid');
    clock.advance(1000);
    const moved = await a.support.transfer({ chatId: chat.id, toTopic: to, note: 'payments team please' });
    expect(moved).toMatchObject({ state: 'queued', topic: to, operator: null, queuedAt: chat.queuedAt });
    expect((await a.support.me()).activeChats).toBe(0);
    expect(await codeOf(a.chat.history({ conversationId: chat.conversationId }))).toBe('chat.not_member');
    await operator('desk-op-tb', { topics: [to] });
    expect((await c.support.get({ chatId: chat.id })).offeredTo).toBe('desk-op-tb');
    const decisions = await a.support.decisions({ chatId: chat.id });
    expect(decisions.find((d) => d.kind === 'transfer_team')).toMatchObject({ by: 'desk-op-ta', note: 'payments team please', toTopic: to });
    const codes = (await c.chat.history({ conversationId: chat.conversationId })).messages.flatMap((m) => (m.payload?.type === 'notice' ? [m.payload.code] : []));
    expect(codes).toContain('support.transferred_team');
    await settle(from);
    await settle(to);
  });

  it('refuses a team transfer where the customer already has an open chat on that topic: typed error, nothing changes', async () => {
    const [from, to] = [freshTopic(), freshTopic()];
    const a = await operator('desk-op-tc', { topics: [from] });
    const c = await customer('desk-cust-tc');
    const chat = await c.support.start({ topic: from, text: 'first question', clientId: cid() });
    const other = await c.support.start({ topic: to, text: 'second question', clientId: cid() });
    await a.support.accept({ chatId: chat.id });
    expect(await codeOf(a.support.transfer({ chatId: chat.id, toTopic: to }))).toBe('support.topic_conflict');
    expect(await a.support.get({ chatId: chat.id })).toMatchObject({ state: 'assigned', topic: from, operator: { id: 'desk-op-tc' } });
    expect((await a.support.get({ chatId: other.id })).state).toBe('queued');
    expect((await a.support.me()).activeChats).toBe(1);
    await settle(from);
    await settle(to);
  });

  it('fires SLA warnings once (durable, across sweeps) and counts them in /metrics and the supervisor view', async () => {
    const topic = freshTopic();
    const boss = await operator('desk-boss-sla', { topics: ['none-' + topic], admin: true });
    const c = await customer('desk-cust-sla');
    const chat = await c.support.start({ topic, text: 'nobody serves me', clientId: cid() });
    const before = (await eventsOf('desk-boss-sla', 'support.sla.warning')).length;
    clock.advance(119_000);
    await app.services.support.sweep();
    expect((await eventsOf('desk-boss-sla', 'support.sla.warning')).length).toBe(before);
    clock.advance(2_000);
    await app.services.support.sweep();
    await app.services.support.sweep();
    const mine = (await eventsOf('desk-boss-sla', 'support.sla.warning')).filter((e) => (e.data as { chatId: string }).chatId === chat.id);
    expect(mine.map((e) => e.data)).toEqual([{ chatId: chat.id, kind: 'wait', topic, priority: 'normal' }]);
    const text = await app.services.metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`sohbet_support_sla_breaches_total\\{topic="${topic}",priority="normal",kind="wait"\\} 1`));
    expect(text).toMatch(new RegExp(`sohbet_support_queue_length\\{topic="${topic}",priority="normal"\\} 1`));
    const m = await boss.support.metrics();
    expect(m.queued.find((q) => q.topic === topic)).toMatchObject({ count: 1, priority: 'normal' });
    expect(m.slaBreaches.wait).toBeGreaterThanOrEqual(1);
    await settle(topic);
  });

  it('resolves an owned chat after the inactivity limit (once), with a notice, and frees the operator', async () => {
    const topic = freshTopic();
    const op = await operator('desk-op-idle', { topics: [topic], maxChats: 1 });
    const c = await customer('desk-cust-idle');
    const chat = await c.support.start({ topic, text: 'hello', clientId: cid() });
    await op.support.accept({ chatId: chat.id });
    clock.advance(3_600_000);
    await op.chat.send({ conversationId: chat.conversationId, clientId: cid(), text: 'are you there?' });
    clock.advance(3_700_000); // 2 h since accept, but only ~1 h since the last message: kept
    await app.services.support.sweep();
    expect((await op.support.get({ chatId: chat.id })).state).toBe('assigned');
    clock.advance(3_600_000);
    await Promise.all([app.services.support.sweep(), app.services.support.sweep()]);
    expect((await op.support.get({ chatId: chat.id })).state).toBe('resolved');
    expect((await op.support.me()).activeChats).toBe(0);
    const decisions = (await op.support.decisions({ chatId: chat.id })).filter((d) => d.kind === 'resolve');
    expect(decisions).toEqual([expect.objectContaining({ reason: 'inactivity' })]);
    const notices = (await c.chat.history({ conversationId: chat.conversationId })).messages.filter((m) => m.payload?.type === 'notice' && m.payload.code === 'support.resolved');
    expect(notices).toHaveLength(1);
  });

  it('G5: re-queues the chats of an operator whose instance crashed (no disconnect recorded) after heartbeat staleness plus grace', async () => {
    const topic = freshTopic();
    const crashed = await operator('desk-op-crash', { topics: [topic], maxChats: 1 });
    const alive = await operator('desk-op-alive', { topics: [topic], maxChats: 1 });
    await app.services.support.onConnected('desk-op-crash');
    await app.services.support.onConnected('desk-op-alive');
    const one = await (await customer('desk-cust-crash1')).support.start({ topic, text: 'one', clientId: cid() });
    const two = await (await customer('desk-cust-crash2')).support.start({ topic, text: 'two', clientId: cid() });
    const byOp = new Map([[one.offeredTo!, one], [two.offeredTo!, two]]);
    await crashed.support.accept({ chatId: byOp.get('desk-op-crash')!.id });
    await alive.support.accept({ chatId: byOp.get('desk-op-alive')!.id });
    // Only the live instance keeps heart-beating its operator; the crashed one never says goodbye.
    for (let i = 0; i < 7; i++) {
      clock.advance(20_000);
      await app.services.support.heartbeat(['desk-op-alive']);
      await app.services.support.sweep();
    }
    // 140 s: stale after 60 s, grace 60 s from the last heartbeat (t=0) → due at 120 s.
    const lost = await alive.support.get({ chatId: byOp.get('desk-op-crash')!.id });
    expect(lost).toMatchObject({ state: 'queued', operator: null, queuedAt: byOp.get('desk-op-crash')!.queuedAt });
    expect((await alive.support.get({ chatId: byOp.get('desk-op-alive')!.id })).state).toBe('assigned');
    expect((await alive.support.operators()).find((o) => o.userId === 'desk-op-crash')).toMatchObject({ connected: false, activeChats: 0 });
    await settle(topic);
  });

  it('gives supervisors (admin role) all open chats and reassignment; plain operators and the host API see what they may', async () => {
    const topic = freshTopic();
    const a = await operator('desk-op-sa', { topics: [topic] });
    const b = await operator('desk-op-sb', { topics: [topic], maxChats: 0 });
    const boss = await operator('desk-boss', { topics: ['none'], admin: true });
    const chat = await (await customer('desk-cust-s')).support.start({ topic, text: 'help', clientId: cid() });
    await a.support.accept({ chatId: chat.id });
    expect(await codeOf(a.support.metrics())).toBe('support.not_supervisor');
    expect(await codeOf(a.support.reassign({ chatId: chat.id, toOperatorId: 'desk-op-sb' }))).toBe('support.not_supervisor');
    expect((await boss.support.openChats()).map((x) => x.id)).toContain(chat.id);
    expect(await codeOf(boss.support.reassign({ chatId: chat.id, toOperatorId: 'desk-op-sb' }))).toBe('support.operator_unavailable');
    expect((await boss.support.get({ chatId: chat.id })).operator?.id).toBe('desk-op-sa');
    await b.support.updateMe({ maxChats: 2 });
    const moved = await boss.support.reassign({ chatId: chat.id, toOperatorId: 'desk-op-sb' });
    expect(moved.operator?.id).toBe('desk-op-sb');
    expect((await a.support.me()).activeChats).toBe(0);
    const api = anonymousCaller(app.services, { apiKey: TEST_API_KEY });
    expect((await api.server.support.metrics()).open.assigned).toBeGreaterThanOrEqual(1);
    await settle(topic);
  });
});
