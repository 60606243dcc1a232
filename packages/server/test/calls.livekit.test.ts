/**
 * The LiveKit path against a local HTTP server that speaks LiveKit's documented Twirp API
 * (POST /twirp/livekit.RoomService/CreateRoom, DeleteRoom, /twirp/livekit.Egress/StartRoomCompositeEgress,
 * JSON bodies, `Authorization: Bearer <JWT>`). The production client (livekit-server-sdk) is
 * used unchanged; tokens are checked with the SDK's TokenVerifier, webhooks signed like LiveKit.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';
import type { CallRecordingDTO, StreamEvent } from '@sohbet/protocol';
import type { AddressInfo } from 'node:net';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { roomOf } from '../src/calls/calls.livekit.ts';
import { callsRepo } from '../src/calls/calls.repo.ts';
import { S3Storage } from '../src/storage/s3-storage.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';

const KEY = 'APItestkey';
const SECRET = 'livekit-test-secret-0123456789abcdef0123456789';

interface Seen {
  method: string;
  body: Record<string, unknown>;
  grants: Awaited<ReturnType<TokenVerifier['verify']>>;
}

/** A LiveKit server stand-in: Twirp JSON over HTTP, refusing requests without a valid admin token. */
async function fakeLiveKit(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const verifier = new TokenVerifier(KEY, SECRET);
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      let grants;
      try {
        grants = await verifier.verify(token ?? '');
      } catch {
        return send(401, { code: 'unauthenticated', msg: 'invalid token' });
      }
      const method = (req.url ?? '').replace('/twirp/', '');
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      seen.push({ method, body, grants });
      if (method === 'livekit.RoomService/CreateRoom') {
        if (!grants.video?.roomCreate) return send(403, { code: 'permission_denied', msg: 'roomCreate' });
        return send(200, { sid: 'RM_test', name: body.name, emptyTimeout: body.emptyTimeout, maxParticipants: body.maxParticipants });
      }
      if (method === 'livekit.RoomService/DeleteRoom') return grants.video?.roomCreate ? send(200, {}) : send(403, { code: 'permission_denied', msg: 'roomCreate' });
      if (method === 'livekit.Egress/StartRoomCompositeEgress') {
        if (!grants.video?.roomRecord) return send(403, { code: 'permission_denied', msg: 'roomRecord' });
        return send(200, { egressId: `EG_${String(body.roomName).slice(-12)}`, roomName: body.roomName, status: 'EGRESS_STARTING' });
      }
      return send(404, { code: 'bad_route', msg: method });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/** Signs a webhook body the way LiveKit does: a JWT (API key/secret) whose sha256 claim is the body's hash. */
async function signed(body: string, opts: { secret?: string; ttl?: string } = {}): Promise<string> {
  const at = new AccessToken(KEY, opts.secret ?? SECRET, { ttl: opts.ttl ?? '5m' });
  at.sha256 = createHash('sha256').update(body).digest('base64');
  return at.toJwt();
}

/** A webhook token that expired an hour ago (past any clock tolerance), otherwise valid. */
function expiredToken(body: string): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: KEY, nbf: now - 7200, exp: now - 3600, sha256: createHash('sha256').update(body).digest('base64') })}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

describe.each(dbKinds)('LiveKit calls on %s', (kind) => {
  let app: SohbetApp;
  let lk: Awaited<ReturnType<typeof fakeLiveKit>>;
  let cleanup: () => Promise<void>;
  // The bucket Egress uploads to: a real S3-protocol server (s3rver checks SigV4 signatures and expiry).
  let s3: S3rver;
  let bucket: S3Storage;
  beforeAll(async () => {
    lk = await fakeLiveKit();
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: mkdtempSync(path.join(os.tmpdir(), 'sohbet-egress-')), configureBuckets: [{ name: 'calls-bucket' }] });
    const { port } = (await s3.run()) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    bucket = new S3Storage({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'eu-central-1', bucket: 'calls-bucket', endpoint, forcePathStyle: true });
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(
      testConfig({
        ...db.env, LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET, LIVEKIT_EMPTY_TIMEOUT_SECONDS: '30',
        CALL_RECORDING_S3_BUCKET: 'calls-bucket', CALL_RECORDING_S3_REGION: 'eu-central-1', CALL_RECORDING_S3_ACCESS_KEY: 'S3RVER', CALL_RECORDING_S3_SECRET: 'S3RVER', CALL_RECORDING_S3_ENDPOINT: endpoint, CALL_SWEEP_MS: '60000',
      }),
      { database: db.database },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
    await lk.close();
    await s3.close();
  });

  const webhook = async (event: Record<string, unknown>, opts: { secret?: string; ttl?: string; tamper?: boolean } = {}) => {
    const body = JSON.stringify(event);
    const auth = await signed(body, opts);
    const res = await app.http.inject({ method: 'POST', url: '/webhooks/livekit', headers: { 'content-type': 'application/webhook+json', authorization: auth }, payload: opts.tamper ? body.replace('participant', 'participant ') : body });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  it('creates a two-person room with a short empty timeout on accept, starts Egress to S3 for a recorded call, and hands out 1-hour tokens scoped to room and identity', async () => {
    const a = await callerFor(app.services, `lk-a-${kind}`);
    const b = await callerFor(app.services, `lk-b-${kind}`);
    const call = await a.calls.start({ callId: `lk-call-${kind}-1`, deviceId: 'a-web', userId: `lk-b-${kind}`, video: true, record: true });
    expect(call.provider).toBe('livekit');
    expect(lk.seen.filter((s) => s.body.name === roomOf(call.id))).toHaveLength(0); // no room while ringing
    await b.calls.accept({ callId: call.id, deviceId: 'b-phone' });
    const create = lk.seen.find((s) => s.method === 'livekit.RoomService/CreateRoom' && s.body.name === roomOf(call.id))!;
    expect(create.body).toMatchObject({ maxParticipants: 2, emptyTimeout: 30 });
    const egress = lk.seen.find((s) => s.method === 'livekit.Egress/StartRoomCompositeEgress' && s.body.roomName === roomOf(call.id))!;
    expect(JSON.stringify(egress.body)).toContain('calls-bucket');
    expect((await callsRepo.get(app.services.database.db, call.id))!.recordingRef).toBe(`EG_${roomOf(call.id).slice(-12)}`);

    const join = await a.calls.join({ callId: call.id });
    if (join.provider !== 'livekit') throw new Error('expected livekit');
    expect(join.url).toBe(lk.url);
    const grants = await new TokenVerifier(KEY, SECRET).verify(join.token);
    expect(grants.sub).toBe(`lk-a-${kind}`);
    expect(grants.video).toMatchObject({ roomJoin: true, room: roomOf(call.id), canPublish: true, canSubscribe: true });
    expect(grants.video?.canPublishSources).toEqual(expect.arrayContaining(['camera', 'microphone', 'screen_share']));
    expect(grants.video?.roomCreate).toBeFalsy();
    expect(grants.exp! - grants.nbf!).toBe(3600);
    await expect(new TokenVerifier(KEY, 'another-secret-0123456789abcdef0123456789').verify(join.token)).rejects.toThrow();
    const stranger = await callerFor(app.services, `lk-z-${kind}`);
    expect(await codeOf(stranger.calls.join({ callId: call.id }))).toBe('call.not_found');
  });

  it('webhooks: a signed participant_joined makes the call active, a duplicate is ignored, forged/expired/tampered ones are refused, room_finished ends it and the room is deleted', async () => {
    const a = await callerFor(app.services, `lk-c-${kind}`);
    const b = await callerFor(app.services, `lk-d-${kind}`);
    const call = await a.calls.start({ callId: `lk-call-${kind}-2`, deviceId: 'a-web', userId: `lk-d-${kind}`, video: false });
    await b.calls.accept({ callId: call.id, deviceId: 'b-phone' });
    const joined = { event: 'participant_joined', id: `EV_join_${kind}`, createdAt: String(Math.floor(Date.now() / 1000)), room: { name: roomOf(call.id), sid: 'RM_test' }, participant: { identity: `lk-d-${kind}`, sid: 'PA_1' } };

    expect((await webhook(joined, { secret: 'forged-secret-0123456789abcdef0123456789' })).status).toBe(401);
    expect((await webhook(joined, { tamper: true })).status).toBe(401);
    const expiredAuth = expiredToken(JSON.stringify(joined));
    const expired = await app.http.inject({ method: 'POST', url: '/webhooks/livekit', headers: { 'content-type': 'application/webhook+json', authorization: expiredAuth }, payload: JSON.stringify(joined) });
    expect(expired.statusCode).toBe(401);
    expect((await a.calls.get({ callId: call.id })).state).toBe('accepted');

    expect(await webhook(joined)).toEqual({ status: 200, body: { ok: true } });
    expect((await a.calls.get({ callId: call.id })).state).toBe('active');
    expect((await webhook(joined)).body).toEqual({ ok: true, duplicate: true });

    const finished = { event: 'room_finished', id: `EV_fin_${kind}`, createdAt: String(Math.floor(Date.now() / 1000)), room: { name: roomOf(call.id), sid: 'RM_test' } };
    expect((await webhook(finished)).status).toBe(200);
    expect(await a.calls.get({ callId: call.id })).toMatchObject({ state: 'ended', endReason: 'completed' });
    await expect.poll(() => lk.seen.some((s) => s.method === 'livekit.RoomService/DeleteRoom' && s.body.room === roomOf(call.id))).toBe(true);
  });

  /** A recorded LiveKit call, answered (so Egress started): returns the parties and the egress id. */
  async function recordedCall(tag: string) {
    const a = await callerFor(app.services, `lk-${tag}-a-${kind}`);
    const b = await callerFor(app.services, `lk-${tag}-b-${kind}`);
    const z = await callerFor(app.services, `lk-${tag}-z-${kind}`);
    const call = await a.calls.start({ callId: `lk-${tag}-${kind}-call`, deviceId: 'a-web', userId: `lk-${tag}-b-${kind}`, video: true, record: true });
    await b.calls.accept({ callId: call.id, deviceId: 'b-phone' });
    const egressId = (await callsRepo.get(app.services.database.db, call.id))!.recordingRef!;
    return { a, b, z, call, egressId, room: roomOf(call.id) };
  }
  const egressEvent = (event: string, id: string, info: Record<string, unknown>) => ({ event, id, createdAt: String(Math.floor(Date.now() / 1000)), egressInfo: info });
  const recordingEvents = async (c: Awaited<ReturnType<typeof callerFor>>) =>
    ((await c.sync.since({ cursor: '0', limit: 1000 })).events as StreamEvent[]).flatMap((e) => (e.type === 'call.recording.updated' ? [e.data.recording as CallRecordingDTO] : []));

  it('egress_ended (complete) stores the file location, size and duration from the EgressInfo file results; only the parties get a short-lived signed link that downloads it', async () => {
    const { a, b, z, call, egressId, room } = await recordedCall('eg1');
    // While Egress runs: a record in `recording`, no link yet (typed error), and both parties were told.
    const [rec] = await a.calls.recordings({ callId: call.id });
    expect(rec).toMatchObject({ id: egressId, status: 'recording', userId: null, url: null });
    expect(await codeOf(a.calls.recordingUrl({ callId: call.id, recordingId: egressId }))).toBe('call.recording_not_ready');
    expect((await recordingEvents(b)).map((r) => r.status)).toEqual(['recording']);

    expect((await webhook(egressEvent('egress_updated', `EV_up_${kind}`, { egressId, roomName: room, status: 'EGRESS_ACTIVE' }))).body).toEqual({ ok: true, recording: 'recording' });
    // Egress uploaded the composite to the bucket, then LiveKit reports it.
    const key = `calls/${call.id}/2026-12-01T101500.mp4`;
    const bytes = Buffer.from('ftypisom'.repeat(4000));
    await bucket.put(key, bytes, { contentType: 'video/mp4' });
    const fileResult = { filename: key, startedAt: '1764584100000000000', endedAt: '1764584172500000000', duration: '72500000000', size: String(bytes.length), location: `https://calls-bucket.s3.eu-central-1.amazonaws.com/${key}` };
    const ended = egressEvent('egress_ended', `EV_end_${kind}`, { egressId, roomName: room, status: 'EGRESS_COMPLETE', fileResults: [fileResult] });
    expect((await webhook(ended, { secret: 'forged-secret-0123456789abcdef0123456789' })).status).toBe(401);
    expect((await a.calls.recordings({ callId: call.id }))[0]!.status).toBe('recording');
    expect((await webhook(ended)).body).toEqual({ ok: true, recording: 'ready' });
    expect((await webhook(ended)).body).toEqual({ ok: true, duplicate: true });
    // A late, out-of-order update does not move it back.
    await webhook(egressEvent('egress_updated', `EV_late_${kind}`, { egressId, roomName: room, status: 'EGRESS_ENDING' }));

    for (const party of [a, b]) {
      const list = await party.calls.recordings({ callId: call.id });
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: egressId, status: 'ready', error: null, sizeBytes: bytes.length, durationMs: 72_500, contentType: 'video/mp4' });
      const res = await fetch(list[0]!.url!);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
    const { url, expiresInSec } = await b.calls.recordingUrl({ callId: call.id, recordingId: egressId });
    expect(expiresInSec).toBe(3600);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('3600');
    expect((await fetch(url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=' + '0'.repeat(64)))).status).toBe(403);
    expect(await codeOf(z.calls.recordings({ callId: call.id }))).toBe('call.not_found');
    expect(await codeOf(z.calls.recordingUrl({ callId: call.id, recordingId: egressId }))).toBe('call.not_found');
    expect(await codeOf(a.calls.recordingUrl({ callId: call.id, recordingId: 'EG_someone_else' }))).toBe('call.recording_not_found');
    expect((await recordingEvents(a)).map((r) => r.status)).toEqual(['recording', 'ready']);
  });

  it('a failed Egress leaves a failed recording with its error: the parties are told and asking for its link is a typed error', async () => {
    const { a, b, call, egressId, room } = await recordedCall('eg2');
    const failed = egressEvent('egress_ended', `EV_fail_${kind}`, { egressId, roomName: room, status: 'EGRESS_FAILED', error: 'Start signal not received' });
    expect((await webhook(failed)).body).toEqual({ ok: true, recording: 'failed' });
    const [rec] = await b.calls.recordings({ callId: call.id });
    expect(rec).toMatchObject({ id: egressId, status: 'failed', error: 'Start signal not received', url: null, sizeBytes: 0 });
    expect(await codeOf(a.calls.recordingUrl({ callId: call.id, recordingId: egressId }))).toBe('call.recording_failed');
    expect((await recordingEvents(b)).map((r) => [r.status, r.error])).toEqual([['recording', null], ['failed', 'Start signal not received']]);
    // An Egress that "completed" without any file is not a recording either.
    const c = await recordedCall('eg3');
    await webhook(egressEvent('egress_ended', `EV_empty_${kind}`, { egressId: c.egressId, roomName: c.room, status: 'EGRESS_COMPLETE', fileResults: [] }));
    expect((await c.a.calls.recordings({ callId: c.call.id }))[0]).toMatchObject({ status: 'failed', error: 'no_media' });
  });
});
