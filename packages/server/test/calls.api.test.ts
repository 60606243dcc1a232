import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallDTO } from '@sohbet/protocol';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { manualClock } from '../src/core/clock.ts';
import { rows, sql } from '../src/db/db.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';

let n = 0;
const callId = () => `call-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;
let u = 0;
/** Fresh user ids per test: tests share one database and a line held by one test must not make another busy. */
const users = (...names: string[]) => names.map((x) => `${x}-${u++}`);

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

describe.each(dbKinds)('calls on %s', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  const clock = manualClock(new Date());
  beforeAll(async () => {
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(
      testConfig({
        ...db.env, CALL_RING_TIMEOUT_SECONDS: '45', CALL_CONNECT_TIMEOUT_SECONDS: '20', CALL_RECONNECT_GRACE_SECONDS: '15', CALL_MAX_DURATION_SECONDS: '600', CALL_SWEEP_MS: '60000',
        TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349', TURN_SECRET: 'coturn-static-auth-secret', TURN_TTL_SECONDS: '3600',
      }),
      { database: db.database, clock },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });
  const s = () => app.services;
  const user = (id: string) => callerFor(s(), id);
  /** The `call.updated` events in a user's durable log, oldest first. */
  const callEventsOf = async (userId: string, id: string): Promise<CallDTO[]> =>
    (await s().events.readAfter(s().database.db, userId, 0, 10_000)).flatMap((d) => (d.event.type === 'call.updated' && d.event.data.call.id === id ? [d.event.data.call] : []));
  const linesHeld = async (userId: string) => (await rows<{ n: number }>(s().database.db, sql`select count(*)::int as n from call_lines where user_id = ${userId}`))[0]!.n;
  const entries = async (viewer: Awaited<ReturnType<typeof user>>, conversationId: string) =>
    (await viewer.chat.history({ conversationId })).messages.filter((m) => m.kind === 'system');

  it('rings the callee on every device: call.updated (ringing) lands in both parties’ durable logs; a retried start returns the same call', async () => {
    const [a, b] = users('ring-a', 'ring-b');
    const ca = await user(a);
    await user(b);
    const id = callId();
    const [first, retry] = await Promise.all([ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: true }), ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: true })]);
    expect(first).toMatchObject({ id, state: 'ringing', callerId: a, calleeId: b, media: 'video', provider: 'p2p' });
    expect(retry.id).toBe(id);
    expect((await callEventsOf(b, id)).map((c) => c.state)).toEqual(['ringing']);
    expect((await callEventsOf(a, id)).map((c) => c.state)).toEqual(['ringing']);
    const intruder = await user(users('ring-z')[0]!);
    expect(await codeOf(intruder.calls.start({ callId: id, deviceId: 'z', userId: b, video: false }))).toBe('call.id_conflict');
  });

  it('G5: two devices accepting at once — exactly one wins, the other gets call.already_answered, and every device hears who answered', async () => {
    const [a, b] = users('g5-a', 'g5-b');
    const ca = await user(a);
    const cb = await user(b);
    const id = callId();
    await ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: false });
    const results = await Promise.allSettled([cb.calls.accept({ callId: id, deviceId: 'b-phone' }), cb.calls.accept({ callId: id, deviceId: 'b-laptop' }), cb.calls.accept({ callId: id, deviceId: 'b-tablet' })]);
    const won = results.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<CallDTO>>;
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) expect(await codeOf(Promise.reject((r as PromiseRejectedResult).reason))).toBe('call.already_answered');
    const stored = await cb.calls.get({ callId: id });
    expect(stored.state).toBe('accepted');
    expect(stored.answeredByDevice).toBe(won[0]!.value.answeredByDevice);
    expect((await callEventsOf(b, id)).map((c) => [c.state, c.answeredByDevice])).toEqual([['ringing', null], ['accepted', stored.answeredByDevice]]);
  });

  it('cancel vs accept at the same moment ends in one consistent outcome, and the lines are free afterwards', async () => {
    const [a, b] = users('cva-a', 'cva-b');
    const ca = await user(a);
    const cb = await user(b);
    const id = callId();
    await ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: false });
    const [acc, cancel] = await Promise.allSettled([cb.calls.accept({ callId: id, deviceId: 'b-phone' }), ca.calls.hangup({ callId: id })]);
    expect(cancel.status).toBe('fulfilled');
    const final = await ca.calls.get({ callId: id });
    expect(final.state).toBe('ended');
    if (acc.status === 'fulfilled') expect(final.endReason).toBe('completed');
    else {
      expect(final.endReason).toBe('cancelled');
      expect(await codeOf(Promise.reject(acc.reason))).toBe('call.invalid_state');
    }
    expect(await linesHeld(a)).toBe(0);
    expect(await linesHeld(b)).toBe(0);
    expect((await callEventsOf(b, id)).at(-1)?.state).toBe('ended');
  });

  it('glare: both users calling each other at once ends in one call, answered, not two', async () => {
    const [a, b] = users('glare-a', 'glare-b');
    const ca = await user(a);
    const cb = await user(b);
    const conv = await ca.chat.openDirect({ userId: b });
    const [x, y] = await Promise.all([
      ca.calls.start({ callId: callId(), deviceId: 'a-web', conversationId: conv.id, video: true }),
      cb.calls.start({ callId: callId(), deviceId: 'b-web', conversationId: conv.id, video: true }),
    ]);
    expect(x.id).toBe(y.id);
    const call = await ca.calls.get({ callId: x.id });
    expect(call.state).toBe('accepted');
    const history = await ca.calls.history();
    expect(history.filter((c) => c.conversationId === conv.id)).toHaveLength(1);
  });

  it('busy: calling someone who is in another call stores an ended call with reason busy and leaves their call ringing', async () => {
    const [a, b, c] = users('busy-a', 'busy-b', 'busy-c');
    const ca = await user(a);
    await user(b);
    const cc = await user(c);
    const first = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    const second = await cc.calls.start({ callId: callId(), deviceId: 'c-web', userId: b, video: false });
    expect(second).toMatchObject({ state: 'ended', endReason: 'busy' });
    expect((await ca.calls.get({ callId: first.id })).state).toBe('ringing');
    expect((await callEventsOf(b, second.id)).map((x) => [x.state, x.endReason])).toEqual([['ended', 'busy']]);
    const texts = (await entries(cc, second.conversationId)).map((m) => m.payload);
    expect(texts).toEqual([expect.objectContaining({ type: 'notice', code: 'call.missed' })]);
  });

  it('G5: eight people calling one person at the same moment — one call rings, the others are busy, one line held', async () => {
    const [b, ...callers] = users('crowd-b', 'crowd-1', 'crowd-2', 'crowd-3', 'crowd-4', 'crowd-5', 'crowd-6', 'crowd-7', 'crowd-8');
    await user(b!);
    const clients = await Promise.all(callers.map((c) => user(c)));
    for (const c of clients) await c.chat.openDirect({ userId: b! }); // so every start is the hot path
    const started = await Promise.all(clients.map((c, i) => c.calls.start({ callId: callId(), deviceId: `d${i}`, userId: b!, video: false })));
    const ringing = started.filter((c) => c.state === 'ringing');
    expect(ringing).toHaveLength(1);
    expect(started.filter((c) => c.state === 'ended').map((c) => c.endReason)).toEqual(Array(7).fill('busy'));
    expect(await linesHeld(b!)).toBe(1);
    for (const c of started) expect((await callEventsOf(b!, c.id)).map((x) => x.state)).toEqual([c.state]); // each call's one event, as stored
    const winner = clients[started.indexOf(ringing[0]!)]!;
    await winner.calls.hangup({ callId: ringing[0]!.id });
    expect(await linesHeld(b!)).toBe(0);
    expect(await Promise.all(callers.map(linesHeld))).toEqual(Array(8).fill(0));
  });

  it('ring timeout: the sweeper ends an unanswered call as missed, the callee’s devices stop ringing, the conversation says "Missed video call"', async () => {
    const [a, b] = users('miss-a', 'miss-b');
    const ca = await user(a);
    const cb = await user(b);
    const call = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: true });
    clock.advance(44_000);
    await s().calls.sweep();
    expect((await cb.calls.get({ callId: call.id })).state).toBe('ringing');
    clock.advance(1_500);
    // Two sweepers at once (as two instances would): the timer fires once.
    await Promise.all([s().calls.sweep(), s().calls.sweep()]);
    expect(await cb.calls.get({ callId: call.id })).toMatchObject({ state: 'ended', endReason: 'missed', durationSec: 0 });
    expect((await callEventsOf(b, call.id)).map((c) => c.state)).toEqual(['ringing', 'ended']);
    const list = await entries(cb, call.conversationId);
    expect(list.map((m) => [m.text, (m.payload as { code: string }).code])).toEqual([['Missed video call', 'call.missed']]);
    expect(await codeOf(cb.calls.accept({ callId: call.id, deviceId: 'b-phone' }))).toBe('call.invalid_state');
    expect(await cb.calls.decline({ callId: call.id })).toMatchObject({ endReason: 'missed' });
  });

  it('connect timeout: an answered call whose media never connects ends as failed; a connected call runs until hang up with its duration', async () => {
    const [a, b] = users('conn-a', 'conn-b');
    const ca = await user(a);
    const cb = await user(b);
    const lost = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    await cb.calls.accept({ callId: lost.id, deviceId: 'b-phone' });
    clock.advance(21_000);
    await s().calls.sweep();
    expect(await ca.calls.get({ callId: lost.id })).toMatchObject({ state: 'ended', endReason: 'failed' });

    const ok = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    await cb.calls.accept({ callId: ok.id, deviceId: 'b-phone' });
    expect(await codeOf(cb.calls.connected({ callId: ok.id, deviceId: 'b-laptop' }))).toBe('call.wrong_device');
    expect((await cb.calls.connected({ callId: ok.id, deviceId: 'b-phone' })).state).toBe('active');
    clock.advance(192_000);
    await s().calls.sweep();
    const ended = await ca.calls.hangup({ callId: ok.id });
    expect(ended).toMatchObject({ state: 'ended', endReason: 'completed', endedBy: a, durationSec: 192 });
    expect((await entries(cb, ok.conversationId)).map((m) => m.text)).toEqual(['Call failed', 'Call, 3:12']);
    const history = await cb.calls.history();
    expect(history.slice(0, 2).map((c) => [c.endReason, c.durationSec])).toEqual([['completed', 192], ['failed', 0]]);
  });

  it('max duration and reconnect grace end a live call (completed / connection_lost); coming back in time keeps it', async () => {
    const [a, b] = users('grace-a', 'grace-b');
    const ca = await user(a);
    const cb = await user(b);
    const start = async () => {
      const c = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
      await cb.calls.accept({ callId: c.id, deviceId: 'b-phone' });
      await ca.calls.connected({ callId: c.id, deviceId: 'a-web' });
      return c.id;
    };
    const long = await start();
    clock.advance(601_000);
    await s().calls.sweep();
    expect(await ca.calls.get({ callId: long })).toMatchObject({ endReason: 'completed', durationSec: 601 });

    const flaky = await start();
    await s().calls.onDisconnected(b);
    clock.advance(10_000);
    await s().calls.onConnected(b);
    clock.advance(10_000);
    await s().calls.sweep();
    expect((await ca.calls.get({ callId: flaky })).state).toBe('active');
    await s().calls.onDisconnected(b);
    clock.advance(16_000);
    await s().calls.sweep();
    expect(await ca.calls.get({ callId: flaky })).toMatchObject({ state: 'ended', endReason: 'connection_lost' });
    expect(await linesHeld(b)).toBe(0);
  });

  it('bad input gets typed errors and changes nothing: blocked, self, group, stranger, non-party, malformed signaling, unanswered call', async () => {
    const [a, b, z] = users('bad-a', 'bad-b', 'bad-z');
    const ca = await user(a);
    const cb = await user(b);
    const cz = await user(z);
    await cb.users.block({ userId: a });
    expect(await codeOf(ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false }))).toBe('call.blocked');
    await cb.users.unblock({ userId: a });
    expect(await codeOf(ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: a, video: false }))).toBe('call.self');
    const group = await ca.chat.createGroup({ title: 'g', memberIds: [b, z] });
    expect(await codeOf(ca.calls.start({ callId: callId(), deviceId: 'a-web', conversationId: group.id, video: false }))).toBe('call.not_direct');
    const dm = await ca.chat.openDirect({ userId: b });
    expect(await codeOf(cz.calls.start({ callId: callId(), deviceId: 'z', conversationId: dm.id, video: false }))).toBe('chat.not_member');
    expect(await codeOf(ca.calls.start({ callId: 'short', deviceId: 'a-web', userId: b, video: false }))).toBe('input.invalid');
    expect(await linesHeld(a)).toBe(0);

    const call = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    const offer = { kind: 'description' as const, type: 'offer' as const, sdp: SDP };
    expect(await codeOf(ca.calls.signal({ callId: call.id, deviceId: 'a-web', signal: offer }))).toBe('call.invalid_state');
    expect(await codeOf(cz.calls.accept({ callId: call.id, deviceId: 'z' }))).toBe('call.not_found');
    expect(await codeOf(cz.calls.hangup({ callId: call.id }))).toBe('call.not_found');
    expect(await codeOf(ca.calls.accept({ callId: call.id, deviceId: 'a-web' }))).toBe('call.not_callee');
    await cb.calls.accept({ callId: call.id, deviceId: 'b-phone' });
    expect(await codeOf(cb.calls.accept({ callId: call.id, deviceId: 'b-laptop' }))).toBe('call.already_answered');
    expect(await codeOf(cz.calls.signal({ callId: call.id, deviceId: 'z', signal: offer }))).toBe('call.not_found');
    expect(await codeOf(cb.calls.signal({ callId: call.id, deviceId: 'b-laptop', signal: offer }))).toBe('call.wrong_device');
    expect(await codeOf(ca.calls.signal({ callId: call.id, deviceId: 'a-web', signal: { ...offer, sdp: 'not sdp' } }))).toBe('call.invalid_signal');
    expect(await codeOf(ca.calls.signal({ callId: call.id, deviceId: 'a-web', signal: { kind: 'candidate', candidate: 'bogus', sdpMid: '0', sdpMLineIndex: 0 } }))).toBe('call.invalid_signal');
    await ca.calls.signal({ callId: call.id, deviceId: 'a-web', signal: offer });
    expect(await cb.calls.get({ callId: call.id })).toMatchObject({ state: 'accepted', answeredByDevice: 'b-phone' });
    await ca.calls.hangup({ callId: call.id });
  });

  it('in an existing direct conversation a block either way refuses the call and holds no line, while a retried start still returns the stored call', async () => {
    const [a, b] = users('blk-a', 'blk-b');
    const ca = await user(a);
    const cb = await user(b);
    await ca.chat.openDirect({ userId: b });
    const id = callId();
    const first = await ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: false });
    await cb.users.block({ userId: a });
    expect(await ca.calls.start({ callId: id, deviceId: 'a-web', userId: b, video: false })).toEqual(first); // a retry, not a new call
    await ca.calls.hangup({ callId: id });
    const refused = ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    await expect(refused).rejects.toThrow('this user does not accept your calls');
    expect(await codeOf(ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false }))).toBe('call.blocked');
    await cb.users.unblock({ userId: a });
    await ca.users.block({ userId: b });
    const mine = ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    await expect(mine).rejects.toThrow('unblock this user to call them');
    expect(await codeOf(cb.calls.start({ callId: callId(), deviceId: 'b-web', userId: a, video: false }))).toBe('call.blocked');
    expect([await linesHeld(a), await linesHeld(b)]).toEqual([0, 0]);
    await ca.users.unblock({ userId: b });
    const again = await cb.calls.start({ callId: callId(), deviceId: 'b-web', userId: a, video: true });
    expect(again).toMatchObject({ state: 'ringing', callerId: b, calleeId: a, media: 'video' });
    await cb.calls.hangup({ callId: again.id });
  });

  it('gives the parties ICE servers with time-limited TURN credentials in coturn’s shared-secret scheme, and nobody else', async () => {
    const [a, b, z] = users('ice-a', 'ice-b', 'ice-z');
    const ca = await user(a);
    await user(b);
    const cz = await user(z);
    const call = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: false });
    const info = await ca.calls.join({ callId: call.id });
    if (info.provider !== 'p2p') throw new Error('expected p2p');
    const turn = info.iceServers.find((x) => x.urls.some((url) => url.startsWith('turn')))!;
    expect(turn.urls).toEqual(['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349']);
    const [expiry, who] = turn.username!.split(':');
    expect(who).toBe(a);
    expect(Number(expiry)).toBe(Math.floor(clock.now().getTime() / 1000) + 3600);
    expect(turn.credential).toBe(createHmac('sha1', 'coturn-static-auth-secret').update(turn.username!).digest('base64'));
    expect(await codeOf(cz.calls.join({ callId: call.id }))).toBe('call.not_found');
    await ca.calls.hangup({ callId: call.id });
  });

  it('stores a quality summary with the call from both parties’ reports and exports them as Prometheus metrics', async () => {
    const [a, b] = users('q-a', 'q-b');
    const ca = await user(a);
    const cb = await user(b);
    const call = await ca.calls.start({ callId: callId(), deviceId: 'a-web', userId: b, video: true });
    await cb.calls.accept({ callId: call.id, deviceId: 'b-phone' });
    await cb.calls.connected({ callId: call.id, deviceId: 'b-phone' });
    expect(await ca.calls.quality({ callId: call.id, deviceId: 'a-web', report: { rttMs: 40, loss: 0, jitterMs: 3, bitrateKbps: 900 } })).toEqual({ bars: 4 });
    expect(await cb.calls.quality({ callId: call.id, deviceId: 'b-phone', report: { rttMs: 400, loss: 0.06, jitterMs: 9, bitrateKbps: 300 } })).toEqual({ bars: 0 });
    const ended = await ca.calls.hangup({ callId: call.id });
    expect(ended.quality).toEqual({ reports: 2, avgRttMs: 220, maxLoss: 0.06, avgJitterMs: 6, avgBitrateKbps: 600 });
    const metrics = await s().metrics.registry.metrics();
    expect(metrics).toMatch(/sohbet_call_rtt_ms_count \d+/);
    expect(metrics).toMatch(/sohbet_calls_ended_total\{reason="completed"\} \d+/);
    expect(await codeOf(ca.calls.quality({ callId: call.id, deviceId: 'a-web', report: { rttMs: 1, loss: 2, jitterMs: 1, bitrateKbps: 1 } }))).toBe('input.invalid');
  });
});
