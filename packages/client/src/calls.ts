import type { CallDTO, CallJoinInfo, CallRecordingDTO, EventMap } from '@sohbet/protocol';
import { CallSession, type WebRtcEnv } from './call-session.ts';
import type { SohbetTRPC } from './connection.ts';
import { SohbetError } from './errors.ts';
import { newClientId } from './outbox.ts';

/**
 * Audio and video calls. The server owns the call state (ringing → accepted → active → ended);
 * this device's media is a {@link CallSession}. Incoming calls arrive as the `call.incoming`
 * client event on every device of the callee; the other devices get `call` with
 * `answeredByDevice` set to someone else's device once one answers ("answered elsewhere").
 * Every method rejects with a SohbetError (`call.busy` is not an error: the call ends with
 * `endReason: 'busy'`).
 */
export interface CallsApi {
  /** This SDK instance's device id (the one `accept` records; signaling targets it). */
  readonly deviceId: string;
  /** The call on this device, if any. */
  readonly current: CallSession | null;
  /** Calls ringing for you right now (incoming, not answered anywhere yet). */
  readonly ringing: readonly CallDTO[];
  /**
   * Calls a user (opens the direct conversation if needed) or the other member of a direct
   * conversation. Captures the microphone (and camera) right away; media connects once answered.
   * A retry with the same `callId` is safe. If the other person is calling you at this moment,
   * this answers their call instead (one call, not two).
   */
  start(input: { userId?: string; conversationId?: string; video?: boolean; callId?: string; record?: boolean }): Promise<CallSession>;
  /** Answers an incoming call on this device; the first device to answer wins (`call.already_answered` for the others). */
  accept(callId: string): Promise<CallSession>;
  /** Declines an incoming call (every device stops ringing). */
  decline(callId: string): Promise<CallDTO>;
  /** Ends a call from any state: cancel while ringing, hang up when connected. */
  hangup(callId: string): Promise<CallDTO>;
  get(callId: string): Promise<CallDTO>;
  /** Your calls, newest first (parties, media, times, duration, end reason, quality summary). */
  history(input?: { limit?: number; before?: string }): Promise<CallDTO[]>;
  /** ICE servers (p2p) or a LiveKit URL and token for a call you are in. */
  join(callId: string): Promise<CallJoinInfo>;
  /**
   * A recorded call's recordings (one WebM per party on p2p, one composite MP4 on LiveKit) with
   * their status (`recording`, `ready`, `partial` — stopped early, e.g. a server restart —
   * or `failed` with `error`) and, for stored ones, signed download URLs valid one hour (parties and admins).
   */
  recordings(callId: string): Promise<CallRecordingDTO[]>;
  /** A fresh signed link for one recording; fails with `call.recording_not_ready` or `call.recording_failed`. */
  recordingUrl(callId: string, recordingId: string): Promise<{ url: string; expiresInSec: number }>;
}

type Call = <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>;

export interface CallsDeps {
  call: Call;
  me: () => Promise<string>;
  webrtc?: Partial<WebRtcEnv>;
  emit: {
    incoming(call: CallDTO): void;
    call(call: CallDTO): void;
    ended(call: CallDTO): void;
  };
  statsIntervalMs?: number;
}

/** The calls API plus the hooks the client's event dispatch feeds. */
export function createCallsApi(d: CallsDeps): CallsApi & { onCallUpdated(call: CallDTO): void; onSignal(e: EventMap['call.signal']): void; onQuality(e: EventMap['call.quality']): void } {
  const deviceId = `d${newClientId().slice(0, 20)}`;
  let current: CallSession | null = null;
  const ringing = new Map<string, CallDTO>();
  /** Signals that arrive before the session for their call exists (an offer racing the accept answer). */
  const early = new Map<string, EventMap['call.signal'][]>();

  const env = (): WebRtcEnv => {
    const g = globalThis as { RTCPeerConnection?: typeof RTCPeerConnection; navigator?: { mediaDevices?: MediaDevices } };
    const RTC = d.webrtc?.RTCPeerConnection ?? g.RTCPeerConnection;
    const mediaDevices = d.webrtc?.mediaDevices ?? g.navigator?.mediaDevices;
    if (!RTC || !mediaDevices) throw new SohbetError('client.not_connected', 'no WebRTC here: pass createClient({ webrtc: { RTCPeerConnection, mediaDevices } }) (react-native-webrtc)');
    return { RTCPeerConnection: RTC, mediaDevices };
  };

  const session = async (call: CallDTO): Promise<CallSession> => {
    if (current && current.call.id === call.id) return current;
    current?.close();
    const s = new CallSession(call, {
      env: env(),
      me: await d.me(),
      deviceId,
      join: (callId) => d.call((t) => t.calls.join.query({ callId })),
      signal: (callId, signal) => d.call((t) => t.calls.signal.mutate({ callId, deviceId, signal })),
      connected: (callId) => d.call((t) => t.calls.connected.mutate({ callId, deviceId })),
      quality: (callId, report) => d.call((t) => t.calls.quality.mutate({ callId, deviceId, report })),
      hangup: (callId) => d.call((t) => t.calls.hangup.mutate({ callId })),
      upgrade: (callId) => d.call((t) => t.calls.upgrade.mutate({ callId })),
      recorderOffer: (callId, sdp) => d.call((t) => t.calls.recorderOffer.mutate({ callId, deviceId, sdp })),
      statsIntervalMs: d.statsIntervalMs,
    });
    s.on('ended', () => {
      if (current === s) current = null;
    });
    current = s;
    for (const e of early.get(call.id) ?? []) void s.onSignal(e.signal);
    early.delete(call.id);
    return s;
  };

  /** The callee's side after its accept won: media, peer connection, then wait for the offer. */
  const answered = async (call: CallDTO): Promise<CallSession> => {
    const s = await session(call);
    await s.update(call);
    await s.connect();
    return s;
  };

  return {
    deviceId,
    get current() {
      return current;
    },
    get ringing() {
      return [...ringing.values()];
    },
    async start(input) {
      const callId = input.callId ?? `c${newClientId()}`;
      const call = await d.call((t) => t.calls.start.mutate({ callId, deviceId, userId: input.userId, conversationId: input.conversationId, video: input.video ?? false, record: input.record ?? false }));
      const me = await d.me();
      // Glare: the server answered the other person's call for us.
      if (call.calleeId === me && call.answeredByDevice === deviceId) return answered(call);
      const s = await session(call);
      if (call.state === 'ended') {
        s.close();
        return s;
      }
      await s.openMedia().catch((err) => {
        void d.call((t) => t.calls.hangup.mutate({ callId }));
        throw err;
      });
      // The callee may have answered while we were capturing media.
      const fresh = await d.call((t) => t.calls.get.query({ callId }));
      await s.update(fresh);
      return s;
    },
    async accept(callId) {
      const call = await d.call((t) => t.calls.accept.mutate({ callId, deviceId }));
      ringing.delete(callId);
      return answered(call);
    },
    decline: (callId) => d.call((t) => t.calls.decline.mutate({ callId })),
    hangup: async (callId) => {
      const call = await d.call((t) => t.calls.hangup.mutate({ callId }));
      if (current?.call.id === callId) await current.update(call);
      return call;
    },
    get: (callId) => d.call((t) => t.calls.get.query({ callId })),
    history: (input) => d.call((t) => t.calls.history.query({ limit: input?.limit ?? 50, before: input?.before })),
    join: (callId) => d.call((t) => t.calls.join.query({ callId })),
    recordings: (callId) => d.call((t) => t.calls.recordings.query({ callId })),
    recordingUrl: (callId, recordingId) => d.call((t) => t.calls.recordingUrl.query({ callId, recordingId })),

    onCallUpdated(call) {
      void d.me().then((me) => {
        if (call.state === 'ringing' && call.calleeId === me) {
          if (!ringing.has(call.id)) {
            ringing.set(call.id, call);
            d.emit.incoming(call);
          }
        } else ringing.delete(call.id);
        if (call.state === 'ended') early.delete(call.id);
        if (current?.call.id === call.id) void current.update(call);
        d.emit.call(call);
        if (call.state === 'ended') d.emit.ended(call);
      });
    },
    onSignal(e) {
      if (e.toDevice && e.toDevice !== deviceId) return;
      if (current?.call.id === e.callId) void current.onSignal(e.signal);
      else {
        const list = early.get(e.callId) ?? [];
        if (list.length < 200) list.push(e);
        early.set(e.callId, list);
      }
    },
    onQuality(e) {
      if (current?.call.id === e.callId) current.onQuality({ bars: e.bars, report: e.report });
    },
  };
}
