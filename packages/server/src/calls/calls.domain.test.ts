import { describe, expect, it } from 'vitest';
import { decide, durationSec, foldQuality, graceDueAt, historyEntry, planStart, signalProblem, type CallCommand, type CallSnapshot, type Decision } from './calls.domain.ts';

const T = { ringMs: 45_000, connectMs: 30_000, graceMs: 20_000, maxDurationMs: 3_600_000 };
const t0 = new Date('2026-01-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const ringing = (): CallSnapshot => ({
  state: 'ringing', callerId: 'a', calleeId: 'b', media: 'video', answeredByDevice: null, createdAt: t0,
  acceptedAt: null, activeAt: null, endedAt: null, dueAt: at(T.ringMs), callerGoneAt: null, calleeGoneAt: null,
});

/** Applies a decision the way the service does (a change is a new snapshot). */
function apply(c: CallSnapshot, d: Decision): CallSnapshot {
  if (d.kind !== 'change') return c;
  const { endReason: _r, endedBy: _b, ...patch } = d.patch;
  return { ...c, ...patch };
}
const run = (c: CallSnapshot, cmd: CallCommand, ms: number) => decide(c, cmd, at(ms), T);
const accepted = () => apply(ringing(), run(ringing(), { type: 'accept', by: 'b', device: 'b-phone' }, 1000));
const active = () => apply(accepted(), run(accepted(), { type: 'connected', by: 'a', device: 'a-web' }, 2000));

describe('call state machine', () => {
  it('rings, is accepted by one device with a connect deadline, becomes active when media connects, and completes on hang up', () => {
    const acc = run(ringing(), { type: 'accept', by: 'b', device: 'b-phone' }, 1000);
    expect(acc).toMatchObject({ kind: 'change', patch: { state: 'accepted', answeredByDevice: 'b-phone', dueAt: at(1000 + T.connectMs) } });
    const act = run(accepted(), { type: 'connected', by: 'b', device: 'b-phone' }, 2000);
    expect(act).toMatchObject({ kind: 'change', patch: { state: 'active', activeAt: at(2000), dueAt: at(2000 + T.maxDurationMs) } });
    const end = run(active(), { type: 'hangup', by: 'b' }, 194_000);
    expect(end).toMatchObject({ kind: 'change', patch: { state: 'ended', endReason: 'completed', endedBy: 'b', dueAt: null } });
    expect(durationSec(apply(active(), end))).toBe(192);
  });

  it('G5: of two devices accepting at once, the second (deciding on the accepted call) gets call.already_answered; a retry from the winner is harmless', () => {
    const first = accepted();
    expect(run(first, { type: 'accept', by: 'b', device: 'b-laptop' }, 1001)).toMatchObject({ kind: 'error', code: 'call.already_answered' });
    expect(run(first, { type: 'accept', by: 'b', device: 'b-phone' }, 1001)).toEqual({ kind: 'same' });
  });

  it('cancel vs accept: whichever lands first wins; cancel on an answered call ends it, accept on a cancelled call is call.invalid_state', () => {
    const cancelled = apply(ringing(), run(ringing(), { type: 'hangup', by: 'a' }, 500));
    expect(run(ringing(), { type: 'hangup', by: 'a' }, 500)).toMatchObject({ kind: 'change', patch: { endReason: 'cancelled', endedBy: 'a' } });
    expect(run(cancelled, { type: 'accept', by: 'b', device: 'b-phone' }, 501)).toMatchObject({ kind: 'error', code: 'call.invalid_state' });
    expect(run(accepted(), { type: 'hangup', by: 'a' }, 1001)).toMatchObject({ kind: 'change', patch: { state: 'ended', endReason: 'completed' } });
  });

  it('decline vs timeout: a decline ends the call as declined and the later timer does nothing; after the timer a decline is a no-op', () => {
    const declined = apply(ringing(), run(ringing(), { type: 'decline', by: 'b' }, 44_000));
    expect(run(ringing(), { type: 'decline', by: 'b' }, 44_000)).toMatchObject({ kind: 'change', patch: { endReason: 'declined', endedBy: 'b' } });
    expect(run(declined, { type: 'due' }, 45_000)).toEqual({ kind: 'same' });
    const missed = apply(ringing(), run(ringing(), { type: 'due' }, 45_000));
    expect(run(ringing(), { type: 'due' }, 45_000)).toMatchObject({ kind: 'change', patch: { endReason: 'missed', endedBy: null } });
    expect(run(missed, { type: 'decline', by: 'b' }, 45_001)).toEqual({ kind: 'same' });
  });

  it('fires a timer only once it is due: ring → missed, connect → failed, max duration → completed', () => {
    expect(run(ringing(), { type: 'due' }, 44_999)).toEqual({ kind: 'same' });
    expect(run(accepted(), { type: 'due' }, 1000 + T.connectMs)).toMatchObject({ kind: 'change', patch: { endReason: 'failed' } });
    expect(run(active(), { type: 'due' }, 2000 + T.maxDurationMs)).toMatchObject({ kind: 'change', patch: { endReason: 'completed' } });
  });

  it('the callee hanging up while it rings declines; the caller cannot accept or decline its own call', () => {
    expect(run(ringing(), { type: 'hangup', by: 'b' }, 10)).toMatchObject({ kind: 'change', patch: { endReason: 'declined' } });
    expect(run(ringing(), { type: 'accept', by: 'a', device: 'x' }, 10)).toMatchObject({ kind: 'error', code: 'call.not_callee' });
    expect(run(ringing(), { type: 'decline', by: 'a' }, 10)).toMatchObject({ kind: 'error', code: 'call.not_callee' });
    expect(run(accepted(), { type: 'decline', by: 'b' }, 1001)).toMatchObject({ kind: 'error', code: 'call.invalid_state' });
  });

  it('refuses anyone who is not a party with call.not_found (no hint the call exists)', () => {
    for (const cmd of [
      { type: 'accept', by: 'z', device: 'z1' },
      { type: 'hangup', by: 'z' },
      { type: 'connected', by: 'z', device: 'z1' },
      { type: 'upgrade', by: 'z' },
    ] as CallCommand[]) {
      expect(run(ringing(), cmd, 10)).toMatchObject({ kind: 'error', code: 'call.not_found' });
    }
  });

  it('only the device that answered may report media connected; a hang up after the end changes nothing', () => {
    expect(run(accepted(), { type: 'connected', by: 'b', device: 'b-laptop' }, 1500)).toMatchObject({ kind: 'error', code: 'call.wrong_device' });
    expect(run(ringing(), { type: 'connected', by: 'a', device: 'a-web' }, 500)).toMatchObject({ kind: 'error', code: 'call.invalid_state' });
    const ended = apply(active(), run(active(), { type: 'hangup', by: 'a' }, 5000));
    expect(run(ended, { type: 'hangup', by: 'b' }, 5001)).toEqual({ kind: 'same' });
  });

  it('upgrades audio to video once; an ended call cannot be upgraded', () => {
    const audio = { ...active(), media: 'audio' as const };
    expect(run(audio, { type: 'upgrade', by: 'b' }, 3000)).toEqual({ kind: 'change', patch: { media: 'video' } });
    expect(run(active(), { type: 'upgrade', by: 'b' }, 3000)).toEqual({ kind: 'same' });
    const ended = apply(audio, run(audio, { type: 'hangup', by: 'a' }, 4000));
    expect(run(ended, { type: 'upgrade', by: 'a' }, 4001)).toMatchObject({ kind: 'error', code: 'call.invalid_state' });
  });

  it('reconnect grace: a leg away longer than the grace ends the call as connection_lost; back in time, it stays up', () => {
    const gone = apply(active(), run(active(), { type: 'party_gone', userId: 'b' }, 10_000));
    expect(gone.calleeGoneAt).toEqual(at(10_000));
    expect(graceDueAt(gone, T)).toEqual(at(30_000));
    expect(run(gone, { type: 'grace_expired' }, 29_999)).toEqual({ kind: 'same' });
    expect(run(gone, { type: 'grace_expired' }, 30_000)).toMatchObject({ kind: 'change', patch: { endReason: 'connection_lost' } });
    const back = apply(gone, run(gone, { type: 'party_back', userId: 'b' }, 15_000));
    expect(back.calleeGoneAt).toBeNull();
    expect(run(back, { type: 'grace_expired' }, 60_000)).toEqual({ kind: 'same' });
  });

  it('a callee without a socket keeps ringing (push wakes the phone); a caller gone past the grace cancels the ringing', () => {
    expect(run(ringing(), { type: 'party_gone', userId: 'b' }, 1000)).toEqual({ kind: 'same' });
    const callerGone = apply(ringing(), run(ringing(), { type: 'party_gone', userId: 'a' }, 1000));
    expect(run(callerGone, { type: 'grace_expired' }, 21_000)).toMatchObject({ kind: 'change', patch: { endReason: 'cancelled' } });
  });
});

describe('starting a call', () => {
  const live = (id: string, callerId: string, calleeId: string, state: 'ringing' | 'active' = 'ringing') => ({ id, callerId, calleeId, conversationId: 'c1', state });

  it('rings when both lines are free', () => {
    expect(planStart('a', 'b', 'c1', { caller: null, callee: null })).toEqual({ kind: 'ring' });
  });

  it('glare: when the callee is ringing us in the same conversation, the start answers that call (one call, not two)', () => {
    const theirs = live('call-b', 'b', 'a');
    expect(planStart('a', 'b', 'c1', { caller: theirs, callee: theirs })).toEqual({ kind: 'join', callId: 'call-b' });
  });

  it('busy when either party is in another call (also an answered call between the same two)', () => {
    expect(planStart('a', 'b', 'c1', { caller: null, callee: live('x', 'c', 'b', 'active') })).toEqual({ kind: 'busy' });
    expect(planStart('a', 'b', 'c1', { caller: live('y', 'a', 'd'), callee: null })).toEqual({ kind: 'busy' });
    const answered = live('call-b', 'b', 'a', 'active');
    expect(planStart('a', 'b', 'c1', { caller: answered, callee: answered })).toEqual({ kind: 'busy' });
    expect(planStart('a', 'b', 'other-conversation', { caller: live('call-b', 'b', 'a'), callee: live('call-b', 'b', 'a') })).toEqual({ kind: 'busy' });
  });
});

describe('call history entries and signaling checks', () => {
  it('says "Call, 3:12" for a completed call and "Missed video call" for a missed or busy one, with a code apps translate', () => {
    expect(historyEntry({ media: 'audio', endReason: 'completed', durationSec: 192 })).toMatchObject({ code: 'call.completed', text: 'Call, 3:12' });
    expect(historyEntry({ media: 'video', endReason: 'missed', durationSec: 0 })).toMatchObject({ code: 'call.missed', text: 'Missed video call' });
    expect(historyEntry({ media: 'video', endReason: 'busy', durationSec: 0 }).code).toBe('call.missed');
    expect(historyEntry({ media: 'audio', endReason: 'declined', durationSec: 0 }).code).toBe('call.declined');
  });

  it('refuses malformed SDP and ICE candidates; accepts real ones and the end-of-candidates marker', () => {
    const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
    expect(signalProblem({ kind: 'description', type: 'offer', sdp })).toBeNull();
    expect(signalProblem({ kind: 'description', type: 'offer', sdp: 'hello' })).toMatch(/v=0/);
    expect(signalProblem({ kind: 'description', type: 'offer', sdp: 'v=0\r\ns=-\r\n' })).toMatch(/m=/);
    expect(signalProblem({ kind: 'description', type: 'answer', sdp: 'v=0\r\n<script>\r\nm=audio' })).toMatch(/SDP line/);
    const cand = 'candidate:842163049 1 udp 1677729535 127.0.0.1 56143 typ host generation 0';
    expect(signalProblem({ kind: 'candidate', candidate: cand, sdpMid: '0', sdpMLineIndex: 0 })).toBeNull();
    expect(signalProblem({ kind: 'candidate', candidate: '', sdpMid: '0', sdpMLineIndex: null })).toBeNull();
    expect(signalProblem({ kind: 'candidate', candidate: 'rm -rf /', sdpMid: '0', sdpMLineIndex: 0 })).toMatch(/ICE/);
    expect(signalProblem({ kind: 'candidate', candidate: cand, sdpMid: null, sdpMLineIndex: null })).toMatch(/sdpMid/);
  });

  it('folds quality reports into running averages and the worst loss', () => {
    const one = foldQuality(null, { rttMs: 100, loss: 0.01, jitterMs: 4, bitrateKbps: 800 });
    const two = foldQuality(one, { rttMs: 200, loss: 0, jitterMs: null, bitrateKbps: 1200 });
    expect(two).toEqual({ reports: 2, avgRttMs: 150, maxLoss: 0.01, avgJitterMs: 4, avgBitrateKbps: 1000 });
  });
});
