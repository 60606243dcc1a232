import { afterAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { AuthService } from '../src/auth/auth.service.ts';
import { freshPostgres, services, startTestServer, TEST_API_KEY, TEST_REDIS_PREFIX, TEST_SECRET, type TestServer } from './harness.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { connectSocket, type TestSocket } from './ws-client.ts';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const CAND = 'candidate:842163049 1 udp 1677729535 127.0.0.1 56143 typ host generation 0';
const isCall = (id: string, state: string) => (e: StreamEvent) => e.type === 'call.updated' && e.data.call.id === id && e.data.call.state === state;
const signals = (s: TestSocket) => s.events.filter((e) => e.type === 'call.signal');

/** Rings, answers and relays signaling between sockets; used on one instance and across two. */
async function ringAnswerRelay(sockets: { a: TestSocket; b1: TestSocket; b2: TestSocket; z: TestSocket }, ids: { b: string }, tag: string) {
  const { a, b1, b2, z } = sockets;
  const callId = `rt-${tag}-${Date.now().toString(36)}`;
  const started = await a.trpc.calls.start.mutate({ callId, deviceId: 'a-web', userId: ids.b, video: true });
  expect(started.state).toBe('ringing');
  // Every device of the callee rings.
  await b1.waitFor(isCall(callId, 'ringing'));
  await b2.waitFor(isCall(callId, 'ringing'));
  await b1.trpc.calls.accept.mutate({ callId, deviceId: 'b-phone' });
  // The other device learns it was answered elsewhere (accepted by another device id).
  const elsewhere = await b2.waitFor(isCall(callId, 'accepted'));
  expect(elsewhere.type === 'call.updated' && elsewhere.data.call.answeredByDevice).toBe('b-phone');
  await a.waitFor(isCall(callId, 'accepted'));

  await a.trpc.calls.signal.mutate({ callId, deviceId: 'a-web', signal: { kind: 'description', type: 'offer', sdp: SDP } });
  await b1.trpc.calls.signal.mutate({ callId, deviceId: 'b-phone', signal: { kind: 'description', type: 'answer', sdp: SDP } });
  await b1.trpc.calls.signal.mutate({ callId, deviceId: 'b-phone', signal: { kind: 'candidate', candidate: CAND, sdpMid: '0', sdpMLineIndex: 0 } });
  const offer = await b1.waitFor((e) => e.type === 'call.signal' && e.data.callId === callId);
  expect(offer.type === 'call.signal' && offer.data).toMatchObject({ fromDevice: 'a-web', toDevice: 'b-phone', signal: { kind: 'description', type: 'offer', sdp: SDP } });
  await a.waitFor((e) => e.type === 'call.signal' && e.data.callId === callId && e.data.signal.kind === 'candidate');
  const toA = signals(a).filter((e) => e.type === 'call.signal' && e.data.callId === callId);
  expect(toA.map((e) => e.type === 'call.signal' && e.data.signal.kind)).toEqual(['description', 'candidate']);
  // Signaling is ephemeral: no cursor, never in the log.
  expect(toA.every((e) => e.cursor === undefined)).toBe(true);
  // Nobody outside the call hears any of it.
  await new Promise((r) => setTimeout(r, 150));
  expect(z.events.filter((e) => e.type === 'call.signal' || e.type === 'call.updated')).toEqual([]);
  // The caller's own signals are not echoed back to it.
  expect(toA.every((e) => e.type === 'call.signal' && e.data.fromUserId === ids.b)).toBe(true);

  await a.trpc.calls.hangup.mutate({ callId });
  await b2.waitFor(isCall(callId, 'ended'));
  return callId;
}

describe('call signaling over real WebSockets', () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it('rings every callee device, tells the others "answered elsewhere", relays offer/answer/ICE only between the parties, and stores none of it', async () => {
    server = await startTestServer();
    const a = connectSocket(server.wsUrl, await server.token('rt-a'));
    const b1 = connectSocket(server.wsUrl, await server.token('rt-b'));
    const b2 = connectSocket(server.wsUrl, await server.token('rt-b'));
    const z = connectSocket(server.wsUrl, await server.token('rt-z'));
    for (const s of [a, b1, b2, z]) await s.ready();
    await ringAnswerRelay({ a, b1, b2, z }, { b: 'rt-b' }, 'one');
    for (const s of [a, b1, b2, z]) await s.close();
  }, 90_000);
});

const auth = new AuthService({ jwtSecret: TEST_SECRET });

describe.skipIf(!services.postgres || !services.redis)('calls across two server instances sharing PostgreSQL and Redis', () => {
  const procs: ServerProcess[] = [];
  let dropDb: (() => Promise<void>) | null = null;
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await dropDb?.();
  });

  it('the caller on one instance rings the callee’s devices on the other; accept, signaling and hang up cross instances; the timer fires once', async () => {
    const db = await freshPostgres(services.postgres!);
    dropDb = db.drop;
    const env = { DATABASE_URL: db.url, REDIS_URL: services.redis!, REDIS_KEY_PREFIX: TEST_REDIS_PREFIX, CALL_RING_TIMEOUT_SECONDS: '5', CALL_SWEEP_MS: '200' };
    procs.push(await spawnServer(env), await spawnServer(env));
    const [one, two] = procs as [ServerProcess, ServerProcess];
    for (const id of ['mi-call-a', 'mi-call-b', 'mi-call-z']) {
      await fetch(`${one.url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id, name: id }) });
    }
    const a = connectSocket(one.wsUrl, () => auth.mint({ id: 'mi-call-a' }));
    const b1 = connectSocket(two.wsUrl, () => auth.mint({ id: 'mi-call-b' }));
    const b2 = connectSocket(one.wsUrl, () => auth.mint({ id: 'mi-call-b' }));
    const z = connectSocket(two.wsUrl, () => auth.mint({ id: 'mi-call-z' }));
    for (const s of [a, b1, b2, z]) await s.ready();
    await ringAnswerRelay({ a, b1, b2, z }, { b: 'mi-call-b' }, 'two');

    // An unanswered call: both instances sweep, the ring timeout fires exactly once.
    const missed = `rt-missed-${Date.now().toString(36)}`;
    await a.trpc.calls.start.mutate({ callId: missed, deviceId: 'a-web', userId: 'mi-call-b', video: false });
    await b1.waitFor(isCall(missed, 'ended'), 10_000);
    await new Promise((r) => setTimeout(r, 600));
    const ends = b1.events.filter((e) => e.type === 'call.updated' && e.data.call.id === missed && e.data.call.state === 'ended');
    expect(ends).toHaveLength(1);
    expect(ends[0]!.type === 'call.updated' && ends[0]!.data.call.endReason).toBe('missed');
    const entries = b2.events.filter((e) => e.type === 'chat.message.created' && e.data.message.kind === 'system' && e.data.message.text === 'Missed call');
    expect(entries).toHaveLength(1);
    for (const s of [a, b1, b2, z]) await s.close();
  }, 90_000);
});
