import type { CallDTO, CallJoinInfo, CallQualityReport, CallSignal } from '@sohbet/protocol';
import { Emitter } from './events.ts';

/**
 * The WebRTC pieces a call needs. Browsers have them globally; on React Native pass
 * `{ RTCPeerConnection, mediaDevices }` from `react-native-webrtc` (same W3C API).
 */
export interface WebRtcEnv {
  RTCPeerConnection: typeof globalThis.RTCPeerConnection;
  mediaDevices: Pick<MediaDevices, 'getUserMedia'> & Partial<Pick<MediaDevices, 'getDisplayMedia'>>;
}

/** What a {@link CallSession} emits. */
export interface CallSessionEvents {
  /** The call record changed (ringing → accepted → active → ended). */
  call: CallDTO;
  localStream: MediaStream;
  remoteStream: MediaStream;
  /** The other party muted, turned the camera off or started/stopped a screen share. */
  remoteMedia: { audio: boolean; video: boolean; screen: boolean };
  /** The other party's connection quality (0..4 bars) and its last report. */
  quality: { bars: number; report: CallQualityReport };
  /** This side's own measurement, sent to the server every few seconds. */
  localQuality: CallQualityReport;
  /** The call ended (with `call.endReason`); media is stopped. */
  ended: CallDTO;
  /** A media or negotiation failure (the call continues unless it ends). */
  error: Error;
}

export interface SessionDeps {
  env: WebRtcEnv;
  me: string;
  deviceId: string;
  join(callId: string): Promise<CallJoinInfo>;
  signal(callId: string, signal: CallSignal): Promise<void>;
  connected(callId: string): Promise<unknown>;
  quality(callId: string, report: CallQualityReport): Promise<unknown>;
  hangup(callId: string): Promise<unknown>;
  upgrade(callId: string): Promise<unknown>;
  /** Sends this device's send-only offer to the server's recorder, gets the answer. */
  recorderOffer(callId: string, sdp: string): Promise<{ sdp: string }>;
  statsIntervalMs?: number;
}

/**
 * One call on this device: local media, the peer connection and its controls. Negotiation is
 * "perfect negotiation": the callee is the polite peer, so renegotiation (screen share on an
 * audio call, upgrade to video) and ICE restarts work from either side without glare.
 */
export class CallSession {
  private readonly events = new Emitter<CallSessionEvents>();
  private pc: RTCPeerConnection | null = null;
  private recorderPc: RTCPeerConnection | null = null;
  /** The recorder leg's one video sender: camera, or the screen while sharing (what the other party sees). */
  private recorderVideo: RTCRtpSender | null = null;
  private pending: CallSignal[] = [];
  private makingOffer = false;
  private ignoreOffer = false;
  private gotFirstOffer = false;
  private reportedConnected = false;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private lastStats: { at: number; bytes: number; lost: number; received: number } | null = null;
  private camera: MediaStreamTrack | null = null;
  private screen: MediaStreamTrack | null = null;
  private closed = false;
  /** The media this device captures (camera and microphone). */
  localStream: MediaStream | null = null;
  /** The other party's media, once it arrives. */
  remoteStream: MediaStream | null = null;
  muted = false;
  cameraOff = false;
  remoteMedia = { audio: true, video: true, screen: false };
  /** The other party's last quality bars (0..4), null before the first report. */
  remoteBars: number | null = null;

  constructor(
    public call: CallDTO,
    private readonly d: SessionDeps,
  ) {}

  /** True when this device placed the call (the impolite peer, which makes the first offer). */
  get isCaller(): boolean {
    return this.call.callerId === this.d.me;
  }
  get screenSharing(): boolean {
    return this.screen !== null;
  }
  /** The peer connection (for advanced use, e.g. `getStats()`); null before the call is answered. */
  get peerConnection(): RTCPeerConnection | null {
    return this.pc;
  }

  on<K extends keyof CallSessionEvents>(name: K, fn: (v: CallSessionEvents[K]) => void): () => void {
    return this.events.on(name, fn);
  }

  /** Captures the microphone (and camera for video calls). */
  async openMedia(): Promise<MediaStream> {
    if (this.localStream) return this.localStream;
    const stream = await this.d.env.mediaDevices.getUserMedia({ audio: true, video: this.call.media === 'video' });
    this.localStream = stream;
    this.camera = stream.getVideoTracks()[0] ?? null;
    this.events.emit('localStream', stream);
    return stream;
  }

  /** Applies a newer call record from the server. */
  async update(call: CallDTO): Promise<void> {
    if (this.closed) return;
    const before = this.call;
    this.call = call;
    this.events.emit('call', call);
    if (call.state === 'ended') return this.close();
    const mine = this.isCaller || call.answeredByDevice === this.d.deviceId;
    if (!mine) return this.close(); // answered on another device
    if (before.state === 'ringing' && call.state === 'accepted' && this.isCaller) await this.connect();
  }

  private connecting: Promise<void> | null = null;

  /** Creates the peer connection (caller: on accept; callee: right after accepting). Once. */
  connect(): Promise<void> {
    this.connecting ??= this.createPeer().catch((err) => {
      this.events.emit('error', err as Error);
      throw err;
    });
    return this.connecting;
  }

  private async createPeer(): Promise<void> {
    if (this.pc || this.closed) return;
    const info = await this.d.join(this.call.id);
    if (info.provider !== 'p2p') throw new Error('this call uses LiveKit: join it with the LiveKit SDK (url and token from calls.join)');
    const pc = new this.d.env.RTCPeerConnection({ iceServers: info.iceServers });
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) void this.send({ kind: 'candidate', candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex, usernameFragment: candidate.usernameFragment });
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? this.remoteStream ?? new MediaStream();
      if (!stream.getTracks().includes(track)) stream.addTrack(track);
      this.remoteStream = stream;
      this.events.emit('remoteStream', stream);
    };
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected' && !this.reportedConnected) {
        this.reportedConnected = true;
        void this.d.connected(this.call.id).catch((err) => this.events.emit('error', err as Error));
        this.startStats();
        if (this.call.recording) void this.startRecorderLeg(info).catch((err) => this.events.emit('error', err as Error));
      }
      // Network change: the caller restarts ICE (a new offer); the server relays it like any offer.
      if (pc.connectionState === 'failed' && this.isCaller) pc.restartIce();
    };
    const local = await this.openMedia();
    // The callee answers the caller's first offer with its tracks (no offer of its own).
    if (this.isCaller) for (const t of local.getTracks()) pc.addTrack(t, local);
    const queued = this.pending;
    this.pending = [];
    for (const s of queued) await this.onSignal(s);
  }

  /**
   * Recorded p2p calls: a second, send-only peer connection to the server's recorder carries this
   * device's microphone and one video track (full ICE gathering, one offer/answer round trip). The
   * video m-line is always there (empty on an audio call), so a screen share or an upgrade to video
   * later swaps the track on the same sender with no renegotiation: the recording shows what the
   * other party saw, the screen in place of the camera while sharing.
   */
  private async startRecorderLeg(info: CallJoinInfo): Promise<void> {
    if (info.provider !== 'p2p' || this.recorderPc || !this.localStream) return;
    const pc = new this.d.env.RTCPeerConnection({ iceServers: info.iceServers });
    this.recorderPc = pc;
    const streams = [this.localStream];
    for (const t of this.localStream.getAudioTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams });
    this.recorderVideo = pc.addTransceiver(this.screen ?? this.camera ?? 'video', { direction: 'sendonly', streams }).sender;
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const timer = setTimeout(resolve, 3000);
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && (clearTimeout(timer), resolve());
    });
    const answer = await this.d.recorderOffer(this.call.id, pc.localDescription!.sdp);
    if (this.closed) return pc.close();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  private async negotiate(): Promise<void> {
    const pc = this.pc;
    if (!pc || (!this.isCaller && !this.gotFirstOffer)) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      const desc = pc.localDescription!;
      await this.send({ kind: 'description', type: desc.type as 'offer' | 'answer', sdp: desc.sdp });
    } catch (err) {
      this.events.emit('error', err as Error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Handles a relayed signal from the other party. */
  async onSignal(s: CallSignal): Promise<void> {
    if (this.closed) return;
    if (s.kind === 'media') {
      this.remoteMedia = { audio: s.audio, video: s.video, screen: s.screen };
      this.events.emit('remoteMedia', this.remoteMedia);
      return;
    }
    const pc = this.pc;
    if (!pc) {
      this.pending.push(s);
      return;
    }
    try {
      if (s.kind === 'description') {
        const collision = s.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
        this.ignoreOffer = this.isCaller && collision;
        if (this.ignoreOffer) return;
        await pc.setRemoteDescription({ type: s.type, sdp: s.sdp });
        if (s.type === 'offer') {
          if (!this.gotFirstOffer && !this.isCaller) {
            const local = await this.openMedia();
            for (const t of local.getTracks()) pc.addTrack(t, local);
          }
          this.gotFirstOffer = true;
          await pc.setLocalDescription();
          await this.send({ kind: 'description', type: 'answer', sdp: pc.localDescription!.sdp });
          void this.sendMediaState();
        }
      } else {
        await pc.addIceCandidate({ candidate: s.candidate, sdpMid: s.sdpMid, sdpMLineIndex: s.sdpMLineIndex, usernameFragment: s.usernameFragment ?? undefined }).catch((err) => {
          if (!this.ignoreOffer) throw err;
        });
      }
    } catch (err) {
      this.events.emit('error', err as Error);
    }
  }

  private send(signal: CallSignal): Promise<void> {
    return this.d.signal(this.call.id, signal).catch((err) => this.events.emit('error', err as Error));
  }

  private sendMediaState(): Promise<void> {
    return this.send({ kind: 'media', audio: !this.muted, video: !this.cameraOff && (this.camera !== null || this.screen !== null), screen: this.screen !== null });
  }

  /** Mutes or unmutes the microphone (the other side is told, for its UI). */
  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const t of this.localStream?.getAudioTracks() ?? []) t.enabled = !muted;
    void this.sendMediaState();
  }

  /** Turns the camera off or on (the track stays negotiated, it just sends black). */
  setCamera(on: boolean): void {
    this.cameraOff = !on;
    if (this.camera) this.camera.enabled = on;
    void this.sendMediaState();
  }

  /** Adds video to an audio call: the record becomes a video call and a camera track is negotiated. */
  async upgradeToVideo(): Promise<void> {
    await this.d.upgrade(this.call.id);
    if (this.camera) return;
    const cam = await this.d.env.mediaDevices.getUserMedia({ video: true });
    this.camera = cam.getVideoTracks()[0]!;
    this.localStream?.addTrack(this.camera);
    if (this.localStream) this.events.emit('localStream', this.localStream);
    this.pc?.addTrack(this.camera, this.localStream ?? cam);
    if (!this.screen) await this.recorderVideo?.replaceTrack(this.camera).catch((err) => this.events.emit('error', err as Error));
    void this.sendMediaState();
  }

  /** Shares the screen in place of the camera (or as a new video track on an audio call). */
  async startScreenShare(): Promise<void> {
    if (this.screen) return;
    const gdm = this.d.env.mediaDevices.getDisplayMedia;
    if (!gdm) throw new Error('screen sharing is not available on this platform');
    const display = await gdm.call(this.d.env.mediaDevices, { video: true, audio: false });
    const track = display.getVideoTracks()[0]!;
    this.screen = track;
    track.onended = () => void this.stopScreenShare();
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === 'video' || (s.track === null && this.camera !== null));
    if (sender) await sender.replaceTrack(track);
    else this.pc?.addTrack(track, this.localStream ?? display);
    await this.recorderVideo?.replaceTrack(track).catch((err) => this.events.emit('error', err as Error));
    void this.sendMediaState();
  }

  async stopScreenShare(): Promise<void> {
    const track = this.screen;
    if (!track) return;
    this.screen = null;
    track.stop();
    const sender = this.pc?.getSenders().find((s) => s.track === track);
    if (sender) {
      if (this.camera) await sender.replaceTrack(this.camera);
      else this.pc?.removeTrack(sender);
    }
    await this.recorderVideo?.replaceTrack(this.camera).catch((err) => this.events.emit('error', err as Error));
    void this.sendMediaState();
  }

  /** Receives the other party's quality report (relayed by the server). */
  onQuality(q: { bars: number; report: CallQualityReport }): void {
    this.remoteBars = q.bars;
    this.events.emit('quality', q);
  }

  /** Ends the call for both parties. */
  async hangup(): Promise<void> {
    await this.d.hangup(this.call.id);
  }

  private startStats(): void {
    const every = this.d.statsIntervalMs ?? 3000;
    this.statsTimer = setInterval(() => void this.measure().catch(() => {}), every);
  }

  /** Round-trip time, loss, jitter and receive bitrate from `getStats()`, sent to the server. */
  async measure(): Promise<CallQualityReport | null> {
    const pc = this.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    let rtt: number | null = null;
    let jitter: number | null = null;
    let bytes = 0;
    let lost = 0;
    let received = 0;
    stats.forEach((r: Record<string, unknown>) => {
      if (r.type === 'candidate-pair' && r.nominated && typeof r.currentRoundTripTime === 'number') rtt = r.currentRoundTripTime * 1000;
      if (r.type === 'inbound-rtp') {
        bytes += Number(r.bytesReceived ?? 0);
        lost += Number(r.packetsLost ?? 0);
        received += Number(r.packetsReceived ?? 0);
        if (typeof r.jitter === 'number') jitter = Math.max(jitter ?? 0, r.jitter * 1000);
      }
    });
    const now = Date.now();
    const prev = this.lastStats;
    this.lastStats = { at: now, bytes, lost, received };
    const dLost = prev ? lost - prev.lost : lost;
    const dRecv = prev ? received - prev.received : received;
    const report: CallQualityReport = {
      rttMs: rtt === null ? null : Math.round(rtt),
      loss: dLost + dRecv > 0 ? Math.min(1, Math.max(0, dLost / (dLost + dRecv))) : null,
      jitterMs: jitter === null ? null : Math.round(jitter * 10) / 10,
      bitrateKbps: prev && now > prev.at ? Math.max(0, Math.round(((bytes - prev.bytes) * 8) / (now - prev.at))) : null,
    };
    this.events.emit('localQuality', report);
    await this.d.quality(this.call.id, report).catch(() => {});
    return report;
  }

  /** Stops media and the peer connection (the server record is ended separately, by hangup or the server). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    for (const t of this.localStream?.getTracks() ?? []) t.stop();
    this.screen?.stop();
    this.pc?.close();
    this.pc = null;
    this.recorderPc?.close();
    this.recorderPc = null;
    this.recorderVideo = null;
    this.events.emit('ended', this.call);
  }
}
