import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack } from 'werift';
import { MediaRecorder } from 'werift/nonstandard';
import type { Logger } from '../core/logger.ts';

/** A party's recording file in the recorder's work folder. */
export interface LegFile {
  callId: string;
  userId: string;
  file: string;
  size: number;
  durationMs: number | null;
}

interface Leg {
  callId: string;
  userId: string;
  pc: RTCPeerConnection;
  recorder: MediaRecorder;
  file: string;
  startedAt: number;
  timers: NodeJS.Timeout[];
}

/**
 * The server-side peer of recorded peer-to-peer calls: each party opens one extra peer
 * connection to it (send-only) and it writes that party's audio and video into a WebM file
 * (werift, pure TypeScript). Files are appended as media arrives, so a crash leaves what was
 * written in `workDir/<callId>/<userId>.webm`; the next boot finds it ({@link leftovers}) and
 * CallRecordings stores it as a partial recording. One video track per party: the camera, or the
 * screen while the party shares it (the client swaps the track on the same sender), which is what
 * the other party saw and what any player shows.
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
    // The lip-sync buffer is what a crash loses (frames reach the file only once they leave it): 2 s, not werift's default 5 s.
    const recorder = new MediaRecorder({ path: file, numOfTracks: Math.max(1, kinds.length), width: 640, height: 480, lipsync: { syncInterval: 500, bufferLength: 4 } });
    recorder.onError.subscribe((err) => this.d.log.warn({ err: err.message, callId }, 'recording error'));
    const leg: Leg = { callId, userId, pc, recorder, file, startedAt: Date.now(), timers: [] };
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

  /** Stops every leg of a call (all calls when `callId` is null); returns the files written. */
  async stop(callId: string | null): Promise<LegFile[]> {
    const out: LegFile[] = [];
    for (const [key, leg] of [...this.legs]) {
      if (callId !== null && leg.callId !== callId) continue;
      await this.stopLeg(key);
      const size = (await stat(leg.file).catch(() => null))?.size ?? 0;
      out.push({ callId: leg.callId, userId: leg.userId, file: leg.file, size, durationMs: Date.now() - leg.startedAt });
    }
    return out;
  }

  /**
   * Marks a leg file as stored. The file itself is removed later ({@link cleanStored}): werift may
   * still finish writing its index after `stop()` gives up waiting, and a write to a removed file
   * would throw inside werift.
   */
  async markStored(f: LegFile): Promise<void> {
    await writeFile(`${f.file.replace(/\.fixed\.webm$|\.webm$/, '')}.stored`, '');
  }

  /** Removes the work files of legs stored more than `ageMs` ago (and their emptied folders). */
  async cleanStored(ageMs: number): Promise<void> {
    const live = new Set(this.callIds);
    for (const callId of await readdir(this.d.workDir).catch(() => [] as string[])) {
      if (live.has(callId)) continue;
      const dir = path.join(this.d.workDir, callId);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const n of names.filter((x) => x.endsWith('.stored'))) {
        const marker = path.join(dir, n);
        const at = (await stat(marker).catch(() => null))?.mtimeMs ?? Date.now();
        if (Date.now() - at < ageMs) continue;
        const base = n.slice(0, -'.stored'.length);
        for (const ext of ['.webm', '.fixed.webm', '.stored']) await rm(path.join(dir, base + ext), { force: true });
      }
      if ((await readdir(dir).catch(() => ['?'])).length === 0) await rm(dir, { recursive: true, force: true });
    }
  }

  /** Leg files a previous process left behind and nobody stored (call at boot, before any leg starts). */
  async leftovers(): Promise<LegFile[]> {
    const out: LegFile[] = [];
    for (const callId of await readdir(this.d.workDir).catch(() => [] as string[])) {
      const dir = path.join(this.d.workDir, callId);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.webm') || name.endsWith('.fixed.webm')) continue;
        const file = path.join(dir, name);
        if (await stat(path.join(dir, `${name.slice(0, -'.webm'.length)}.stored`)).then(() => true, () => false)) continue;
        out.push({ callId, userId: name.slice(0, -'.webm'.length), file, size: (await stat(file).catch(() => null))?.size ?? 0, durationMs: null });
      }
    }
    return out;
  }

  private async stopLeg(key: string): Promise<void> {
    const leg = this.legs.get(key);
    if (!leg) return;
    this.legs.delete(key);
    for (const t of leg.timers) clearInterval(t);
    await leg.recorder.stop().catch(() => {});
    // werift's stop() gives up waiting for the file's index and duration after 5 s; on a busy box
    // they come later, and the file must be complete before it is stored.
    const rec = leg.recorder as unknown as { started?: boolean; writer?: { ended?: boolean } };
    for (let i = 0; i < 100 && rec.started && rec.writer && !rec.writer.ended; i++) await new Promise((r) => setTimeout(r, 100));
    await leg.pc.close().catch(() => {});
  }
}
