import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack } from 'werift';
import { MediaRecorder } from 'werift/nonstandard';
import type { Logger } from '../core/logger.ts';

/** Where recordings go: the deployment's object storage (local disk or S3); calls use only this part of it. */
export interface RecordingStore {
  put(key: string, data: Buffer | Readable, opts: { contentType: string }): Promise<void>;
  downloadUrl(key: string, opts: { filename: string; contentType: string; expiresInSec: number }): Promise<string>;
}


interface Leg {
  callId: string;
  userId: string;
  pc: RTCPeerConnection;
  recorder: MediaRecorder;
  file: string;
  timers: NodeJS.Timeout[];
}

/**
 * The server-side peer of recorded peer-to-peer calls: each party opens one extra peer
 * connection to it (send-only) and it writes that party's audio and video into a WebM file
 * (werift, pure TypeScript). Media is live state of this process by nature; a restart ends the
 * recording of calls in progress (what was written so far is kept).
 */
export class CallRecorder {
  private readonly legs = new Map<string, Leg>();

  constructor(
    private readonly d: { workDir: string; host: string | null; log: Logger },
  ) {}

  get callIds(): string[] {
    return [...new Set([...this.legs.values()].map((l) => l.callId))];
  }

  /** Answers a party's send-only offer (full ICE gathering, no trickle) and starts writing its media. */
  async answer(callId: string, userId: string, offerSdp: string): Promise<string> {
    const key = `${callId}/${userId}`;
    await this.stopLeg(key);
    const kinds = [...offerSdp.matchAll(/^m=(audio|video) /gm)].map((m) => m[1]);
    const pc = new RTCPeerConnection({
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
        video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })],
      },
      iceUseIpv6: false,
      // Pinned to one address (e.g. a private interface, or loopback in tests): bind, advertise and pair only there.
      ...(this.d.host
        ? { iceInterfaceAddresses: { udp4: this.d.host }, iceAdditionalHostAddresses: [this.d.host], iceFilterCandidatePair: (p: { remoteCandidate: { host: string } }) => p.remoteCandidate.host === this.d.host }
        : {}),
    });
    const dir = path.join(this.d.workDir, callId);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${userId}.webm`);
    const recorder = new MediaRecorder({ path: file, numOfTracks: Math.max(1, kinds.length), width: 640, height: 480 });
    recorder.onError.subscribe((err) => this.d.log.warn({ err: err.message, callId }, 'recording error'));
    const leg: Leg = { callId, userId, pc, recorder, file, timers: [] };
    this.legs.set(key, leg);
    pc.onTrack.subscribe((track: MediaStreamTrack) => {
      void recorder.addTrack(track);
      if (track.kind === 'video') {
        // Key frames regularly, so the file starts with a decodable picture.
        const t = setInterval(() => {
          const tr = pc.getTransceivers().find((x) => x.receiver.track === track);
          if (track.ssrc) void tr?.receiver.sendRtcpPLI(track.ssrc).catch(() => {});
        }, 1000);
        leg.timers.push(t);
      }
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    await pc.setLocalDescription(await pc.createAnswer());
    // Full gathering (no trickle to the recorder); host candidates only, so this is quick.
    for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 20));
    return pc.localDescription!.sdp;
  }

  /** Stops every leg of a call; returns the files written (party, path, size). */
  async stop(callId: string): Promise<Array<{ userId: string; file: string; size: number }>> {
    const out: Array<{ userId: string; file: string; size: number }> = [];
    for (const [key, leg] of [...this.legs]) {
      if (leg.callId !== callId) continue;
      await this.stopLeg(key);
      const size = (await stat(leg.file).catch(() => null))?.size ?? 0;
      if (size > 0) out.push({ userId: leg.userId, file: leg.file, size });
    }
    return out;
  }

  private async stopLeg(key: string): Promise<void> {
    const leg = this.legs.get(key);
    if (!leg) return;
    this.legs.delete(key);
    for (const t of leg.timers) clearInterval(t);
    await leg.recorder.stop().catch(() => {});
    await leg.pc.close().catch(() => {});
  }

  async close(): Promise<void> {
    for (const key of [...this.legs.keys()]) await this.stopLeg(key);
  }
}
