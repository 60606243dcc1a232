import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { manualClock } from '../src/core/clock.ts';
import { rows, sql } from '../src/db/db.ts';
import { anonymousCaller, callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, TEST_API_KEY, testConfig } from './harness.ts';

let n = 0;
const cid = () => `sup-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;
let topicN = 0;
/** Each test uses its own topics and operators, so tests sharing a database do not route to each other. */
const freshTopic = () => `t${topicN++}`;

describe.each(dbKinds)('live support on %s', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  const clock = manualClock();
  beforeAll(async () => {
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(
      testConfig({ ...db.env, SUPPORT_OFFER_TIMEOUT_SECONDS: '30', SUPPORT_OPERATOR_GRACE_SECONDS: '60', SUPPORT_REOPEN_WINDOW_SECONDS: '600', SUPPORT_SWEEP_MS: '60000' }),
      { database: db.database, clock },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });
  const customer = (u: string) => callerFor(app.services, u);
  const operator = async (u: string, o: { topics: string[]; maxChats?: number; status?: 'available' | 'away' }) => {
    const c = await callerFor(app.services, u, { roles: ['operator'] });
    await c.support.updateMe({ topics: o.topics, maxChats: o.maxChats ?? 3, status: o.status ?? 'available' });
    return c;
  };
  const heldCounts = async () =>
    rows<{ op: string; n: number; active: number; max: number }>(
      app.services.database.db,
      sql`select o.user_id as op, o.active_chats as active, o.max_chats as max,
                 (select count(*)::int from support_chats c where (c.state = 'offered' and c.offered_to = o.user_id) or (c.state in ('assigned','pending','snoozed') and c.operator_id = o.user_id)) as n
          from support_operators o`,
    );

  it('starts one support chat per customer and topic: a retry returns the same chat, queued with a position', async () => {
    const topic = freshTopic();
    const c = await customer('cust-retry');
    const [a, b] = await Promise.all([
      c.support.start({ topic, text: 'Sifarişim gəlmədi', clientId: cid() }),
      c.support.start({ topic, text: 'Sifarişim gəlmədi', clientId: cid() }),
    ]);
    const again = await c.support.start({ topic, text: 'hello?', clientId: cid() });
    expect(new Set([a.id, b.id, again.id]).size).toBe(1);
    expect(again.state).toBe('queued');
    expect(again.position).toBe(1);
    const history = await c.chat.history({ conversationId: a.conversationId });
    expect(history.messages.map((m) => m.text)).toEqual(['Sifarişim gəlmədi']);
  });

  it('rejects bad actors with typed errors and changes nothing: a customer acting as operator, reading another customer chat', async () => {
    const topic = freshTopic();
    const c = await customer('cust-bad');
    const chat = await c.support.start({ topic, text: 'help', clientId: cid() });
    expect(await codeOf(c.support.queue())).toBe('support.not_operator');
    expect(await codeOf(c.support.pick({ chatId: chat.id }))).toBe('support.not_operator');
    const other = await customer('cust-snoop');
    expect(await codeOf(other.support.get({ chatId: chat.id }))).toBe('support.not_found');
    expect(await codeOf(other.chat.history({ conversationId: chat.conversationId }))).toBe('chat.not_member');
    expect((await c.support.get({ chatId: chat.id })).state).toBe('queued');
  });

  it('routes to the least-loaded available operator serving the topic and records the decision with reasons', async () => {
    const topic = freshTopic();
    const busy = await operator('op-busy', { topics: [topic], maxChats: 3 });
    const free = await operator('op-free', { topics: [topic], maxChats: 3, status: 'away' });
    await operator('op-away', { topics: [topic], status: 'away' });
    await operator('op-other', { topics: ['elsewhere'] });
    for (const u of ['cust-warm', 'cust-warm2']) {
      const w = await (await customer(u)).support.start({ topic, text: 'warm', clientId: cid() });
      expect(w.offeredTo).toBe('op-busy');
      await busy.support.accept({ chatId: w.id });
    }
    await free.support.updateMe({ status: 'available' });
    const leastLoaded = 'op-free';
    const chat = await (await customer('cust-route')).support.start({ topic, text: 'route me', clientId: cid() });
    expect(chat.state).toBe('offered');
    expect(chat.offeredTo).toBe(leastLoaded);
    const [d] = await busy.support.decisions({ chatId: chat.id });
    expect(d).toMatchObject({ kind: 'offer', winner: leastLoaded });
    expect(d!.excluded).toEqual(expect.arrayContaining([{ operatorId: 'op-away', reason: 'status_away' }, { operatorId: 'op-other', reason: 'topic' }]));
  });

  it('G5: an offer not accepted in time (durable timer) goes to the next operator, and the late accept fails', async () => {
    const topic = freshTopic();
    const a = await operator('op-slow-a', { topics: [topic] });
    const b = await operator('op-slow-b', { topics: [topic] });
    const chat = await (await customer('cust-timeout')).support.start({ topic, text: 'anyone?', clientId: cid() });
    const first = chat.offeredTo!;
    expect(['op-slow-a', 'op-slow-b']).toContain(first);
    clock.advance(29_000);
    await app.services.support.sweep();
    expect((await a.support.get({ chatId: chat.id })).offeredTo).toBe(first);
    clock.advance(2_000);
    await app.services.support.sweep();
    const after = await a.support.get({ chatId: chat.id });
    const second = first === 'op-slow-a' ? 'op-slow-b' : 'op-slow-a';
    expect(after).toMatchObject({ state: 'offered', offeredTo: second });
    const late = first === 'op-slow-a' ? a : b;
    expect(await codeOf(late.support.accept({ chatId: chat.id }))).toBe('support.already_assigned');
    const kinds = (await a.support.decisions({ chatId: chat.id })).map((d) => d.kind);
    expect(kinds).toEqual(['offer', 'offer_expired', 'offer']);
    const counts = await heldCounts();
    for (const c of counts) expect(c.active).toBe(c.n);
  });

  it('G5: chats of an operator offline past the grace are re-queued at their original place', async () => {
    const topic = freshTopic();
    const gone = await operator('op-gone', { topics: [topic], maxChats: 1 });
    const chat = await (await customer('cust-grace-1')).support.start({ topic, text: 'one', clientId: cid() });
    await gone.support.accept({ chatId: chat.id });
    clock.advance(5_000);
    const later = await (await customer('cust-grace-2')).support.start({ topic, text: 'two', clientId: cid() });
    expect(later.state).toBe('queued');
    await app.services.support.onDisconnected('op-gone', clock.now());
    clock.advance(30_000);
    await app.services.support.sweep();
    expect((await gone.support.get({ chatId: chat.id })).state).toBe('assigned'); // within grace: kept
    clock.advance(31_000);
    await app.services.support.sweep();
    const requeued = await gone.support.get({ chatId: chat.id });
    expect(requeued).toMatchObject({ state: 'queued', operator: null, queuedAt: chat.queuedAt });
    const queue = (await gone.support.queue()).filter((c) => c.topic === topic).map((c) => c.id);
    expect(queue).toEqual([chat.id, later.id]);
    expect(await codeOf(gone.chat.history({ conversationId: chat.conversationId }))).toBe('chat.not_member');
    // Back online: the oldest chat is offered first.
    await app.services.support.onConnected('op-gone');
    expect((await gone.support.get({ chatId: chat.id })).offeredTo).toBe('op-gone');
  });

  it('drains the queue whenever capacity frees: resolve, limit raised, operator available', async () => {
    const topic = freshTopic();
    const op = await operator('op-drain', { topics: [topic], maxChats: 1 });
    const c1 = await (await customer('cust-drain-1')).support.start({ topic, text: 'a', clientId: cid() });
    clock.advance(1000);
    const c2 = await (await customer('cust-drain-2')).support.start({ topic, text: 'b', clientId: cid() });
    clock.advance(1000);
    const c3 = await (await customer('cust-drain-3')).support.start({ topic, text: 'c', clientId: cid() });
    expect([c1.state, c2.state, c3.state]).toEqual(['offered', 'queued', 'queued']);
    expect(c3.position).toBe(2);
    await op.support.accept({ chatId: c1.id });
    await op.support.resolve({ chatId: c1.id });
    expect((await op.support.get({ chatId: c2.id })).offeredTo).toBe('op-drain');
    await op.support.updateMe({ maxChats: 2 });
    expect((await op.support.get({ chatId: c3.id })).offeredTo).toBe('op-drain');
    expect(await codeOf(op.support.updateMe({ maxChats: 101 }))).toBe('input.invalid');
  });

  it('reopens a resolved chat when the customer writes within the window, back to the same operator', async () => {
    const topic = freshTopic();
    const op = await operator('op-reopen', { topics: [topic] });
    const cust = await customer('cust-reopen');
    const chat = await cust.support.start({ topic, text: 'q', clientId: cid() });
    await op.support.accept({ chatId: chat.id });
    await op.chat.send({ conversationId: chat.conversationId, clientId: cid(), text: 'Salam, necə kömək edə bilərəm?' });
    await op.support.resolve({ chatId: chat.id });
    await cust.chat.send({ conversationId: chat.conversationId, clientId: cid(), text: 'one more thing' });
    await new Promise((r) => setTimeout(r, 100)); // the reopen hook runs after the send returns
    const reopened = await cust.support.get({ chatId: chat.id });
    expect(reopened).toMatchObject({ state: 'assigned', operator: { id: 'op-reopen' } });
  });

  it('lets the host backend set priority with the API key, and operators change it; the queue re-orders', async () => {
    const topic = freshTopic();
    const op = await operator('op-prio', { topics: [topic], maxChats: 0 });
    const a = await (await customer('cust-prio-a')).support.start({ topic, text: 'a', clientId: cid() });
    clock.advance(1000);
    const b = await (await customer('cust-prio-b')).support.start({ topic, text: 'b', clientId: cid() });
    const server = anonymousCaller(app.services, { apiKey: TEST_API_KEY });
    await server.server.support.setPriority({ chatId: b.id, priority: 'urgent' });
    expect((await op.support.queue()).filter((c) => c.topic === topic).map((c) => c.id)).toEqual([b.id, a.id]);
    await op.support.setPriority({ chatId: a.id, priority: 'urgent' });
    expect((await op.support.queue()).filter((c) => c.topic === topic).map((c) => c.id)).toEqual([a.id, b.id]);
    expect(await codeOf(anonymousCaller(app.services).server.support.setPriority({ chatId: a.id, priority: 'low' }))).toBe('auth.forbidden');
  });

  it('G5: transfer needs an available operator with room; transferring to an offline operator changes nothing', async () => {
    const topic = freshTopic();
    const from = await operator('op-tr-from', { topics: [topic] });
    await operator('op-tr-off', { topics: ['x'], status: 'away' });
    await operator('op-tr-to', { topics: ['x'] });
    const chat = await (await customer('cust-tr')).support.start({ topic, text: 'tr', clientId: cid() });
    await from.support.accept({ chatId: chat.id });
    expect(await codeOf(from.support.transfer({ chatId: chat.id, toOperatorId: 'op-tr-off' }))).toBe('support.operator_unavailable');
    expect((await from.support.get({ chatId: chat.id })).operator?.id).toBe('op-tr-from');
    const moved = await from.support.transfer({ chatId: chat.id, toOperatorId: 'op-tr-to', note: 'billing question' });
    expect(moved.operator?.id).toBe('op-tr-to');
    expect(await codeOf(from.support.resolve({ chatId: chat.id }))).toBe('support.already_assigned');
    for (const c of await heldCounts()) expect(c.active).toBe(c.n);
  });

  it('G5: many simultaneous picks, accepts, transfers and resolves never give a chat two owners or an operator too many chats', async () => {
    const topic = freshTopic();
    const ops = await Promise.all(Array.from({ length: 6 }, (_, i) => operator(`op-race-${i}`, { topics: [topic], maxChats: 2 })));
    const chats = [];
    for (let i = 0; i < 20; i++) chats.push(await (await customer(`cust-race-${i}`)).support.start({ topic, text: `c${i}`, clientId: cid() }));
    const ids = chats.map((c) => c.id);
    const rnd = (k: number) => Math.floor(Math.random() * k);
    for (let round = 0; round < 4; round++) {
      const actions = Array.from({ length: 60 }, () => {
        const o = rnd(ops.length);
        const chatId = ids[rnd(ids.length)]!;
        const a = rnd(5);
        const caller = ops[o]!;
        return a === 0 ? caller.support.pick({ chatId })
          : a === 1 ? caller.support.accept({ chatId })
          : a === 2 ? caller.support.transfer({ chatId, toOperatorId: `op-race-${rnd(ops.length)}` })
          : a === 3 ? caller.support.resolve({ chatId })
          : caller.support.decline({ chatId });
      });
      const results = await Promise.allSettled(actions);
      for (const r of results) {
        if (r.status === 'rejected') expect(await codeOf(Promise.reject(r.reason))).toMatch(/^(support\.|input\.invalid)/);
      }
      await app.services.support.drain();
      const counts = (await heldCounts()).filter((c) => c.op.startsWith('op-race-'));
      for (const c of counts) {
        expect(c.n).toBeLessThanOrEqual(c.max);
        expect(c.active).toBe(c.n);
      }
      const bad = await rows<{ id: string }>(
        app.services.database.db,
        sql`select id from support_chats where (state = 'offered' and (offered_to is null or operator_id is not null))
               or (state in ('assigned','pending','snoozed') and (operator_id is null or offered_to is not null))`,
      );
      expect(bad).toEqual([]);
      // Each owned chat's conversation has exactly one operator member: its owner.
      const members = await rows<{ id: string; ops: number }>(
        app.services.database.db,
        sql`select c.id, (select count(*)::int from members m where m.conversation_id = c.conversation_id and m.user_id like 'op-race-%') as ops
            from support_chats c where c.state in ('assigned','pending','snoozed') and c.topic = ${topic}`,
      );
      for (const m of members) expect(m.ops).toBe(1);
    }
  });
});
