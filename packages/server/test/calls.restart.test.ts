/**
 * A recorded peer-to-peer call survives a server crash without losing its recording silently: a
 * party's werift peer sends real VP8/Opus (ffmpeg test sources over loopback RTP) to the server's
 * recorder, the server process is killed with SIGKILL mid-call and started again on the same
 * DATA_DIR and database. The next boot finds the half-written WebM, remuxes it (the crash left no
 * duration or index), stores it as `partial` with `server_restarted`, and the parties see that
 * state (a `call.recording.updated` event and the recordings list); the file plays and covers
 * what was sent before the crash (G6: what was written is not lost).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallRecordingDTO } from '@sohbet/protocol';
import { AuthService } from '../src/auth/auth.service.ts';
import { freshPostgres, services, TEST_API_KEY, TEST_SECRET } from './harness.ts';
import { freePort, spawnServer, type ServerProcess } from './process.ts';
import { connectSocket } from './ws-client.ts';

const run = promisify(execFile);
const haveFfmpeg = await run('ffmpeg', ['-version']).then(() => true, () => false);
const auth = new AuthService({ jwtSecret: TEST_SECRET });

async function upsert(url: string, id: string) {
  await fetch(`${url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id, name: id }) });
}

async function udpPort(onPacket: (b: Buffer) => void): Promise<{ port: number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', onPacket);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => sock.close() };
}

async function poll<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met in time (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.runIf(haveFfmpeg)('recording across a server crash', () => {
  const procs: ServerProcess[] = [];
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const p of procs) await p.stop('SIGKILL');
    for (const c of cleanups) await c();
  });

  it('G6: a recording in progress when the server is killed is finalized from what was written (partial, server_restarted) on the next boot, and both parties see it', async () => {
    const env: Record<string, string> = { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-rec-restart-')), CALL_RECORDER_HOST: '127.0.0.1', CALL_SWEEP_MS: '500' };
    if (services.postgres) {
      const db = await freshPostgres(services.postgres);
      env.DATABASE_URL = db.url;
      cleanups.push(db.drop);
    }
    const port = await freePort();
    let server = await spawnServer(env, port);
    procs.push(server);
    await upsert(server.url, 'rr-a');
    await upsert(server.url, 'rr-b');
    const a = connectSocket(server.wsUrl, () => auth.mint({ id: 'rr-a' }));
    const b = connectSocket(server.wsUrl, () => auth.mint({ id: 'rr-b' }));
    await a.ready();
    await b.ready();
    const call = await a.trpc.calls.start.mutate({ callId: 'rr-call-000001', deviceId: 'a-node', userId: 'rr-b', video: true, record: true });
    await b.trpc.calls.accept.mutate({ callId: call.id, deviceId: 'b-node' });

    // The caller's send-only leg to the recorder, fed by ffmpeg.
    const pc = new RTCPeerConnection({
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
        video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000 })],
      },
      iceUseIpv6: false, iceInterfaceAddresses: { udp4: '127.0.0.1' }, iceAdditionalHostAddresses: ['127.0.0.1'], iceFilterCandidatePair: (p) => p.remoteCandidate.host === '127.0.0.1',
    });
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(video, { direction: 'sendonly' });
    pc.addTransceiver(audio, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 20));
    const { sdp } = await a.trpc.calls.recorderOffer.mutate({ callId: call.id, deviceId: 'a-node', sdp: pc.localDescription!.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp });
    for (let i = 0; i < 100 && pc.connectionState !== 'connected'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pc.connectionState).toBe('connected');
    const vIn = await udpPort((buf) => video.writeRtp(buf));
    const aIn = await udpPort((buf) => audio.writeRtp(buf));
    const ff = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-g', '15', '-payload_type', '96', '-f', 'rtp', `rtp://127.0.0.1:${vIn.port}?pkt_size=1200`,
      '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${aIn.port}?pkt_size=1200`,
    ]);
    children.push(ff);

    const recording = await poll(() => a.trpc.calls.recordings.query({ callId: call.id }), (l) => l.length === 1, 10_000);
    expect(recording[0]).toMatchObject({ userId: 'rr-a', status: 'recording', url: null });
    // Media reaches the file a couple of seconds after it arrives (lip-sync buffer): wait until several seconds are on disk.
    const work = path.join(env.DATA_DIR!, 'recorder', call.id, 'rr-a.webm');
    await poll(async () => statSync(work).size, (n) => n > 100_000, 60_000);

    await server.stop('SIGKILL');
    ff.kill('SIGKILL');
    vIn.close();
    aIn.close();
    await pc.close();
    server = await spawnServer(env, port);
    procs.push(server);

    // The next boot finalized it; the sockets reconnect and both parties got the new state.
    const [rec] = await poll(() => b.trpc.calls.recordings.query({ callId: call.id }), (l) => l[0]?.status !== 'recording', 30_000);
    expect(rec).toMatchObject({ userId: 'rr-a', status: 'partial', error: 'server_restarted' });
    expect(rec!.sizeBytes).toBeGreaterThan(10_000);
    for (const s of [a, b]) {
      const seen = await poll(async () => s.events.flatMap((e) => (e.type === 'call.recording.updated' ? [e.data.recording as CallRecordingDTO] : [])), (l) => l.length >= 2, 15_000);
      expect(seen.map((r) => [r.status, r.error])).toEqual([['recording', null], ['partial', 'server_restarted']]);
    }

    // The stored file plays: audio and video, and a real duration covering what was sent (not the placeholder of an unclosed file).
    const res = await fetch(`${server.url}${rec!.url!}`);
    expect(res.status).toBe(200);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sohbet-rec-restart-dl-')), 'a.webm');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const probe = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type:format=duration', '-of', 'json', file])).stdout) as { streams: Array<{ codec_type: string }>; format: { duration: string } };
    expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    const seconds = Number(probe.format.duration);
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(60);
    expect(rec!.durationMs).toBeGreaterThan(1500);

    // The call itself goes on (p2p media never passed through the server); ending it keeps the partial recording as it is.
    expect((await a.trpc.calls.get.query({ callId: call.id })).state).not.toBe('ended');
    expect(await a.trpc.calls.recorderOffer.mutate({ callId: call.id, deviceId: 'a-node', sdp: pc.localDescription!.sdp }).then(() => 'ok', (e: { data?: { appCode?: string } }) => e.data?.appCode)).toBe('call.invalid_state');
    await a.trpc.calls.hangup.mutate({ callId: call.id });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await a.trpc.calls.recordings.query({ callId: call.id })).map((r) => r.status)).toEqual(['partial']);
    await a.close();
    await b.close();
  }, 150_000);
});
