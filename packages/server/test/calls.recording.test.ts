/**
 * Recording on the embedded default: a party's peer (werift in Node, the same WebRTC stack as the
 * recorder) sends real VP8 video and Opus audio, encoded by ffmpeg from its test sources and fed
 * over loopback UDP, to the server's recording peer. After hang up the server stores a WebM per
 * party; ffprobe must find a video and an audio track in it, and the signed URL must download it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, codeOf } from './caller.ts';
import { startTestServer, type TestServer } from './harness.ts';

const run = promisify(execFile);
const haveFfmpeg = await run('ffmpeg', ['-version']).then(() => true, () => false);

async function udpPort(onPacket: (b: Buffer) => void): Promise<{ port: number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', onPacket);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => sock.close() };
}

describe.runIf(haveFfmpeg)('recording a peer-to-peer call (werift recorder)', () => {
  let server: TestServer;
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    server = await startTestServer({ env: { CALL_RECORDER_HOST: '127.0.0.1' } });
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await server.close();
  });

  it('writes each party’s audio and video to a WebM with both tracks, downloadable by the parties through a signed URL only', async () => {
    const a = await callerFor(server.app.services, 'rec-a');
    const b = await callerFor(server.app.services, 'rec-b');
    const z = await callerFor(server.app.services, 'rec-z');
    const call = await a.calls.start({ callId: 'rec-call-00001', deviceId: 'a-node', userId: 'rec-b', video: true, record: true });
    expect(call.recording).toBe(true);
    await b.calls.accept({ callId: call.id, deviceId: 'b-node' });

    // The caller's send-only leg to the recorder.
    const codecs = {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000 })],
    };
    const pc = new RTCPeerConnection({
      codecs, iceUseIpv6: false, iceInterfaceAddresses: { udp4: '127.0.0.1' }, iceAdditionalHostAddresses: ['127.0.0.1'], iceFilterCandidatePair: (p) => p.remoteCandidate.host === '127.0.0.1',
    });
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(video, { direction: 'sendonly' });
    pc.addTransceiver(audio, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 20));

    expect(await codeOf(z.calls.recorderOffer({ callId: call.id, deviceId: 'z', sdp: pc.localDescription!.sdp }))).toBe('call.not_found');
    expect(await codeOf(a.calls.recorderOffer({ callId: call.id, deviceId: 'a-node', sdp: 'v=0\r\nbogus' }))).toBe('call.invalid_signal');
    const { sdp } = await a.calls.recorderOffer({ callId: call.id, deviceId: 'a-node', sdp: pc.localDescription!.sdp });
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
    procs.push(ff);
    await new Promise((r) => setTimeout(r, 4000));
    ff.kill('SIGKILL');
    vIn.close();
    aIn.close();

    await b.calls.hangup({ callId: call.id });
    await pc.close();
    const list = await a.calls.recordings({ callId: call.id });
    expect(list.map((r) => r.userId)).toEqual(['rec-a']);
    expect(list[0]!.sizeBytes).toBeGreaterThan(10_000);
    expect(await codeOf(z.calls.recordings({ callId: call.id }))).toBe('call.not_found');

    // Download through the signed URL; a tampered signature is refused.
    const res = await fetch(`${server.url}${list[0]!.url!}`);
    expect(res.status).toBe(200);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sohbet-rec-')), 'a.webm');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect((await fetch(`${server.url}${list[0]!.url!.replace(/sig=[^&]+/, 'sig=forged')}`)).status).toBe(403);

    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', file]);
    const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; codec_name: string }> }).streams;
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'vp8']);
  }, 60_000);
});
