import type { LimitsService } from '../abuse/limits.service.ts';
import type { CallDTO, CallJoinInfo, CallQualityReport, CallRecordingDTO, CallSignal } from '@sohbet/protocol';
import { qualityBars } from '@sohbet/protocol';
import { messageDTO } from '../chat/chat.dto.ts';
import { directKey } from '../chat/chat.domain.ts';
import { chatRepo, type MessageRow } from '../chat/chat.repo.ts';
import type { ConversationsService } from '../chat/conversations.service.ts';
import type { Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Database, Tx } from '../db/db.ts';
import type { Emit, EventLog } from '../realtime/event-log.ts';
import { decide, foldQuality, historyEntry, isLive, planStart, signalProblem, type CallCommand } from './calls.domain.ts';
import { callDTO } from './calls.dto.ts';
import { callEvents } from './calls.events.ts';
import type { CallMetrics } from './calls.metrics.ts';
import type { MediaProvider } from './calls.providers.ts';
import type { CallRecorder } from './calls.recorder.ts';
import type { CallRecordings, EgressReport } from './calls.recordings.ts';
import { callsRepo as repo, type CallRow, type StartContext } from './calls.repo.ts';

export interface CallsDeps {
  database: Database;
  events: EventLog;
  clock: Clock;
  log: Logger;
  config: Config['calls'];
  conversations: ConversationsService;
  provider: MediaProvider;
  metrics: CallMetrics;
  /** The server-side recording peer of p2p calls, and the durable records of every recording. */
  recorder: CallRecorder | null;
  recordings: CallRecordings;
  limits: LimitsService;
}

/** A transaction lost a race (line claimed, row changed): re-read and decide again. */
class Raced extends Error {}

const ATTEMPTS = 8;

/**
 * Calls between the two members of a direct conversation. Every state change is decided by the
 * pure state machine (calls.domain.ts) on a fresh read, then applied with a conditional update on
 * the row's version in the same transaction as its `call.updated` event; a lost race re-reads and
 * decides again. Timers are due times in the database, fired by `sweep` on any instance.
 */
export class CallsService {
  constructor(private readonly d: CallsDeps) {}

  private get db() {
    return this.d.database.db;
  }
  private now() {
    return this.d.clock.now();
  }

  /**
   * Starts a call (a retry with the same `callId` returns the same call). If the callee is ringing
   * us in the same conversation right now, that call is answered instead (glare: one call, not
   * two). If either party is in another call, the new call is stored as ended with `busy`.
   */
  async start(actorId: string, input: { callId: string; deviceId: string; userId?: string; conversationId?: string; video: boolean; record: boolean }): Promise<CallDTO> {
    // One read for the retry check and the conversation (see resolveCallee).
    const ctx = await repo.startContext(this.db, {
      callId: input.callId,
      actorId,
      ...(input.userId ? { directKey: directKey(actorId, input.userId) } : { conversationId: input.conversationId }),
    });
    if (ctx.prior) return this.retried(actorId, ctx.prior);
    await this.d.limits.take('call.start', actorId);
    const { conversationId, calleeId } = await this.resolveCallee(actorId, input, ctx);
    const media = input.video ? 'video' : 'audio';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        const now = this.now();
        const base = { id: input.callId, conversationId, callerId: actorId, calleeId, media, provider: this.d.provider.name, callerDevice: input.deviceId, recording: input.record, createdAt: now } as const;
        // Optimistic: with both lines free (the usual case) one statement checks them, stores the
        // ringing call, claims the lines and stores its `call.updated` (the row it stores is known
        // beforehand) with its push rows — no transaction around it. With a line held it writes
        // nothing and the plan decides.
        const ringing = { ...base, state: 'ringing', dueAt: new Date(now.getTime() + this.d.config.ringMs) } as const;
        const ran = await this.d.events.writeChange(repo.ringChange(ringing, [actorId, calleeId]), (e) => callEvents.updated(e, callDTO(repo.ringingRow(ringing))));
        const ring = repo.ringOutcome(ran.row);
        const plan = planStart(actorId, calleeId, conversationId, { caller: ring.lines.get(actorId) ?? null, callee: ring.lines.get(calleeId) ?? null });
        if (plan.kind === 'join') return await this.act(actorId, plan.callId, { type: 'accept', by: actorId, device: input.deviceId });
        if (plan.kind === 'ring') {
          if (!ring.call) throw new Raced('id'); // lines were free, so the id was taken: a concurrent retry inserted it
          if (ring.claimed !== 2) throw new AppError('internal', 'a ringing call was stored without its lines'); // the claim fails the statement instead
          this.d.metrics.started.inc({ media });
          return callDTO(ring.call);
        }
        const busy = await this.d.events.write(async (tx, emit) => {
          const stored = await repo.insertReturning(tx, { ...base, state: 'ended', endReason: 'busy', endedAt: now, dueAt: null });
          if (!stored) throw new Raced('id');
          callEvents.updated(emit, callDTO(stored));
          await this.postEntry(tx, emit, stored);
          return stored;
        });
        this.d.metrics.started.inc({ media });
        this.d.metrics.ended.inc({ reason: 'busy' });
        return callDTO(busy);
      } catch (err) {
        if (!(err instanceof Raced) && !isConflict(err)) throw err;
        const again = await repo.get(this.db, input.callId);
        if (again) return this.retried(actorId, again);
      }
    }
    throw new AppError('internal', 'the call could not be started; retry');
  }

  private retried(actorId: string, prior: CallRow): CallDTO {
    if (prior.callerId !== actorId) throw new AppError('call.id_conflict', 'this call id is taken; choose a new one');
    return callDTO(prior);
  }

  /**
   * The conversation and the other party. On the hot path (invite → ringing) everything comes from
   * the start's one read (`startContext`: the direct conversation by its key, its members, blocks);
   * only a first call between two users opens the conversation and reads it again. The full
   * conversation view that `openDirect` builds is not needed here.
   */
  private async resolveCallee(actorId: string, input: { userId?: string; conversationId?: string }, ctx: StartContext): Promise<{ conversationId: string; calleeId: string }> {
    if (input.userId === actorId) throw new AppError('call.self', 'you cannot call yourself');
    let conv = ctx.conversation;
    let memberIds = ctx.memberIds;
    let blocks = ctx.blocks;
    if (!conv && input.userId) {
      const opened = await chatRepo.conversation(this.db, (await this.d.conversations.openDirect(actorId, { userId: input.userId })).id);
      conv = opened && { id: opened.id, kind: opened.kind };
      memberIds = opened ? (await chatRepo.members(this.db, opened.id)).map((m) => m.userId) : [];
      blocks = [];
      const other = memberIds.find((u) => u !== actorId);
      if (other) {
        const b = await chatRepo.blockedBetween(this.db, actorId, other);
        if (b.aBlockedB) blocks.push([actorId, other]);
        if (b.bBlockedA) blocks.push([other, actorId]);
      }
    }
    if (!conv || !memberIds.includes(actorId)) throw new AppError('chat.not_member', 'you are not a member of this conversation');
    if (conv.kind !== 'direct') throw new AppError('call.not_direct', 'calls are between the two members of a direct conversation');
    const other = memberIds.find((u) => u !== actorId);
    if (!other) throw new AppError('call.self', 'nobody else is in this conversation');
    const aBlockedB = blocks.some(([x, y]) => x === actorId && y === other);
    const bBlockedA = blocks.some(([x, y]) => x === other && y === actorId);
    if (aBlockedB || bBlockedA) throw new AppError('call.blocked', bBlockedA ? 'this user does not accept your calls' : 'unblock this user to call them');
    return { conversationId: conv.id, calleeId: other };
  }

  accept(actorId: string, callId: string, deviceId: string): Promise<CallDTO> {
    return this.act(actorId, callId, { type: 'accept', by: actorId, device: deviceId });
  }
  decline(actorId: string, callId: string): Promise<CallDTO> {
    return this.act(actorId, callId, { type: 'decline', by: actorId });
  }
  hangup(actorId: string, callId: string): Promise<CallDTO> {
    return this.act(actorId, callId, { type: 'hangup', by: actorId });
  }
  connected(actorId: string, callId: string, deviceId: string): Promise<CallDTO> {
    return this.act(actorId, callId, { type: 'connected', by: actorId, device: deviceId });
  }
  upgrade(actorId: string, callId: string): Promise<CallDTO> {
    return this.act(actorId, callId, { type: 'upgrade', by: actorId });
  }

  /** Reads, decides, applies with a version check; a lost race decides again on the new state. */
  async act(actorId: string | null, callId: string, cmd: CallCommand): Promise<CallDTO> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const row = await repo.get(this.db, callId);
      if (!row || (actorId && row.callerId !== actorId && row.calleeId !== actorId)) throw new AppError('call.not_found', 'no such call');
      const decision = decide(row, cmd, this.now(), this.d.config);
      if (decision.kind === 'error') throw new AppError(decision.code, decision.message);
      if (decision.kind === 'same') return callDTO(row);
      const updated = await this.d.events.write(async (tx, emit) => {
        // An ending's entry in the conversation is written by the update statement itself: the
        // version check means the stored row is exactly this one with the patch applied.
        const ends = decision.patch.state === 'ended' && row.state !== 'ended';
        const entry = ends ? this.entryFields({ ...row, ...defined(decision.patch), version: row.version + 1 }) : null;
        const u = await repo.updateWithEntry(tx, row.id, row.version, decision.patch, entry);
        if (!u) return null;
        if (entry && u.entrySeq === null) throw new AppError('chat.not_found', 'no such conversation');
        await this.changed(tx, emit, row, u.call, entry && { ...entry, seq: u.entrySeq! });
        return u.call;
      });
      if (updated) return this.afterCommit(row, updated);
    }
    throw new AppError('call.invalid_state', 'the call kept changing; reload it');
  }

  /** Inside the transaction of a change: the durable event to both parties, and the end's bookkeeping. */
  private async changed(tx: Tx, emit: Emit, before: CallRow, after: CallRow, entry: MessageRow | null = null): Promise<void> {
    // Presence-only changes (a leg away and back) do not concern the apps.
    const visible = before.state !== after.state || before.media !== after.media || before.answeredByDevice !== after.answeredByDevice;
    if (visible) callEvents.updated(emit, callDTO(after));
    // The update that ended the call freed its lines in the same statement (repo.update), and may
    // have stored its entry too.
    if (after.state === 'ended' && before.state !== 'ended') {
      if (entry) emit([after.callerId, after.calleeId], 'chat.message.created', { message: messageDTO(entry) });
      else await this.postEntry(tx, emit, after);
    }
  }

  private async afterCommit(before: CallRow, after: CallRow): Promise<CallDTO> {
    if (before.state === 'ringing' && after.state === 'accepted') {
      await this.d.provider.prepare(after).then(
        async (r) => {
          if (r.recordingRef) await repo.setRecordingRef(this.db, after.id, r.recordingRef);
          if (r.recordingError) this.d.log.warn({ err: r.recordingError, callId: after.id }, 'call recording could not start');
          if (after.recording) await this.d.recordings.egressStarted(after, { egressId: r.recordingRef, error: r.recordingError });
        },
        async (err: Error) => {
        this.d.log.warn({ err: err.message, callId: after.id }, 'media provider could not prepare the call');
        await this.act(null, after.id, { type: 'fail', reason: 'failed' }).catch(() => {});
        },
      );
    }
    if (after.state === 'ended' && before.state !== 'ended') {
      this.d.metrics.ended.inc({ reason: after.endReason ?? 'unknown' });
      if (after.recording) await this.finishRecording(after.id);
      if (before.state !== 'ringing') await this.d.provider.release(after).catch((err: Error) => this.d.log.warn({ err: err.message, callId: after.id }, 'media provider release failed'));
    }
    // A call that ended while ringing had no media, recording or quality: nothing after the commit
    // changes its row, so the stored one is returned as it is. Otherwise read what the provider and
    // recorder work above may have changed (e.g. a failed prepare ended the call).
    if (before.state === 'ringing' && after.state === 'ended') return callDTO(after);
    return callDTO((await repo.get(this.db, after.id)) ?? after);
  }

  /** The call as a system entry in its conversation ("Missed video call", "Call, 3:12"), in the ending transaction. */
  private async postEntry(tx: Tx, emit: Emit, call: CallRow): Promise<void> {
    const fields = this.entryFields(call);
    const row: MessageRow = { ...fields, seq: await chatRepo.appendMessage(tx, fields) };
    emit([call.callerId, call.calleeId], 'chat.message.created', { message: messageDTO(row) });
  }

  /** The system message of an ended call. */
  private entryFields(call: CallRow): Omit<MessageRow, 'seq'> {
    const entry = historyEntry(callDTO(call));
    return {
      conversationId: call.conversationId, id: newId('m'), clientId: `call-${call.id}`.slice(0, 64), senderId: null, kind: 'system',
      text: entry.text, payload: { type: 'notice', code: entry.code, params: { ...entry.params, callId: call.id, callerId: call.callerId } },
      replyToSeq: null, forwarded: false, createdAt: call.endedAt ?? this.now(), editedAt: null, deletedAt: null,
    };
  }

  /** Shutdown: recordings in progress are stored as partial (`server_stopped`), not left behind. */
  async close(): Promise<void> {
    if (!this.d.recorder) return;
    const files = await this.d.recorder.stop(null);
    for (const callId of new Set(files.map((f) => f.callId))) {
      const call = await repo.get(this.db, callId);
      if (call) await this.d.recordings.storeLegs(call, files.filter((f) => f.callId === callId), { status: 'partial', error: 'server_stopped' });
    }
  }

  /** Boot: recordings a crashed process left half-written are finalized and the parties told. */
  recoverRecordings(): Promise<number> {
    return this.d.recordings.recover();
  }

  /** A LiveKit Egress report (webhook) for this call's recording. */
  onEgress(report: EgressReport): Promise<CallRecordingDTO | null> {
    return this.d.recordings.onEgress(report);
  }

  // ---- recording (p2p: a server-side peer per party) ----

  /** A party's send-only offer to the recorder; the answer SDP comes back (no trickle ICE). */
  async recorderOffer(actorId: string, input: { callId: string; deviceId: string; sdp: string }): Promise<{ sdp: string }> {
    const row = await this.party(actorId, input.callId);
    if (!row.recording || row.provider !== 'p2p' || !this.d.recorder) throw new AppError('call.invalid_state', 'this call is not recorded by the server');
    if (row.state !== 'accepted' && row.state !== 'active') throw new AppError('call.invalid_state', 'the call is not connected');
    if ((actorId === row.callerId ? row.callerDevice : row.answeredByDevice) !== input.deviceId) throw new AppError('call.wrong_device', 'this device is not in the call');
    const problem = signalProblem({ kind: 'description', type: 'offer', sdp: input.sdp });
    if (problem) throw new AppError('call.invalid_signal', problem);
    // A party's recording that stopped early (server restart) stays as it is: it is not restarted over.
    if (await this.d.recordings.finishedFor(row.id, actorId)) throw new AppError('call.invalid_state', 'the recording of this call has stopped');
    const sdp = await this.d.recorder.answer(row.id, actorId, input.sdp);
    await this.d.recordings.legStarted(row, actorId);
    return { sdp };
  }

  /** Closes this instance's recorder legs of an ended call and stores their files (idempotent). */
  private async finishRecording(callId: string): Promise<void> {
    if (!this.d.recorder) return;
    const files = await this.d.recorder.stop(callId);
    const call = files.length ? await repo.get(this.db, callId) : null;
    if (call) await this.d.recordings.storeLegs(call, files, { status: 'ready', error: null });
  }

  /** The recordings of a call (status, and signed download URLs for stored ones): for its parties and admins. */
  async listRecordings(actorId: string, callId: string, isAdmin: boolean): Promise<CallRecordingDTO[]> {
    return this.d.recordings.list(await this.partyOrAdmin(actorId, callId, isAdmin));
  }

  /** One recording's signed link; a typed error while it is being written or when it failed. */
  async recordingUrl(actorId: string, input: { callId: string; recordingId: string }, isAdmin: boolean): Promise<{ url: string; expiresInSec: number }> {
    return this.d.recordings.url(await this.partyOrAdmin(actorId, input.callId, isAdmin), input.recordingId);
  }

  private async partyOrAdmin(actorId: string, callId: string, isAdmin: boolean): Promise<CallRow> {
    if (!isAdmin) return this.party(actorId, callId);
    const row = await repo.get(this.db, callId);
    if (!row) throw new AppError('call.not_found', 'no such call');
    return row;
  }

  // ---- media: join info, signaling relay, quality ----

  private async party(actorId: string, callId: string): Promise<CallRow> {
    const row = await repo.get(this.db, callId);
    if (!row || (row.callerId !== actorId && row.calleeId !== actorId)) throw new AppError('call.not_found', 'no such call');
    return row;
  }

  /** ICE servers (with fresh TURN credentials) or a LiveKit token: only for the parties of a live call. */
  async join(actorId: string, callId: string): Promise<CallJoinInfo> {
    const row = await this.party(actorId, callId);
    if (!isLive(row.state)) throw new AppError('call.invalid_state', 'the call has ended');
    return this.d.provider.join(row, actorId, this.now());
  }

  /**
   * Relays offer/answer/ICE (renegotiation and ICE restarts are new offers) to the other party
   * only, to the device that joined the call; never stored. Only the caller's device and the
   * device that answered may send.
   */
  async signal(actorId: string, input: { callId: string; deviceId: string; signal: CallSignal }): Promise<void> {
    const row = await this.party(actorId, input.callId);
    if (row.state !== 'accepted' && row.state !== 'active') throw new AppError('call.invalid_state', row.state === 'ringing' ? 'the call has not been answered' : 'the call has ended');
    const isCaller = actorId === row.callerId;
    const myDevice = isCaller ? row.callerDevice : row.answeredByDevice;
    if (myDevice !== input.deviceId) throw new AppError('call.wrong_device', 'this device is not in the call');
    const problem = signalProblem(input.signal);
    if (problem) throw new AppError('call.invalid_signal', problem);
    const to = isCaller ? row.calleeId : row.callerId;
    callEvents.signal(this.d.events, to, { callId: row.id, fromUserId: actorId, fromDevice: input.deviceId, toDevice: isCaller ? row.answeredByDevice : row.callerDevice, signal: input.signal });
  }

  /** A party's quality report: shown to the other party as bars, folded into the call's summary, exported as metrics. */
  async quality(actorId: string, input: { callId: string; deviceId: string; report: CallQualityReport }): Promise<{ bars: number }> {
    const row = await this.party(actorId, input.callId);
    if (row.state !== 'active' && row.state !== 'accepted') throw new AppError('call.invalid_state', 'the call is not connected');
    const r = input.report;
    await this.db.transaction(async (tx) => {
      // Both parties report every few seconds: lock the row so no report overwrites another.
      const fresh = (await repo.lock(tx, row.id))!;
      await repo.setQuality(tx, row.id, foldQuality((fresh.quality as never) ?? null, r));
    });
    const m = this.d.metrics;
    if (r.rttMs !== null) m.rtt.observe(r.rttMs);
    if (r.loss !== null) m.loss.observe(r.loss);
    if (r.jitterMs !== null) m.jitter.observe(r.jitterMs);
    if (r.bitrateKbps !== null) m.bitrate.observe(r.bitrateKbps);
    const bars = qualityBars(r);
    callEvents.quality(this.d.events, actorId === row.callerId ? row.calleeId : row.callerId, { callId: row.id, userId: actorId, report: r, bars });
    return { bars };
  }

  async get(actorId: string, callId: string): Promise<CallDTO> {
    return callDTO(await this.party(actorId, callId));
  }

  async history(actorId: string, q: { limit: number; before?: string }): Promise<CallDTO[]> {
    return (await repo.history(this.db, actorId, q)).map(callDTO);
  }

  // ---- connectivity and durable timers ----

  /** The user's last socket closed: the reconnect grace of their live calls starts (stored). */
  async onDisconnected(userId: string): Promise<void> {
    for (const c of await repo.liveFor(this.db, userId)) await this.act(null, c.id, { type: 'party_gone', userId }).catch(() => {});
  }

  async onConnected(userId: string): Promise<void> {
    for (const c of await repo.liveFor(this.db, userId)) await this.act(null, c.id, { type: 'party_back', userId }).catch(() => {});
  }

  /**
   * Fires due timers (ring → missed, connect → failed, max duration → completed, reconnect grace
   * → connection_lost). Rows are claimed with FOR UPDATE SKIP LOCKED, so several instances sweep
   * at once without firing a timer twice.
   */
  async sweep(): Promise<number> {
    let fired = 0;
    for (;;) {
      const now = this.now();
      const goneBefore = new Date(now.getTime() - this.d.config.graceMs);
      const ended: Array<[CallRow, CallRow]> = [];
      const n = await this.d.events.write(async (tx, emit) => {
        const due = await repo.claimDue(tx, now, goneBefore, 20);
        for (const row of due) {
          let decision = decide(row, { type: 'due' }, now, this.d.config);
          if (decision.kind !== 'change') decision = decide(row, { type: 'grace_expired' }, now, this.d.config);
          if (decision.kind !== 'change') continue;
          const u = await repo.update(tx, row.id, row.version, decision.patch);
          if (!u) continue;
          await this.changed(tx, emit, row, u);
          ended.push([row, u]);
        }
        return due.length;
      });
      for (const [b, a] of ended) await this.afterCommit(b, a);
      fired += ended.length;
      if (n < 20) break;
    }
    // Recorder legs on this instance whose call was ended by another instance.
    for (const id of this.d.recorder?.callIds ?? []) if ((await repo.get(this.db, id))?.state === 'ended') await this.finishRecording(id);
    await this.d.recordings.sweepLost().catch((err: Error) => this.d.log.warn({ err: err.message }, 'recordings sweep failed'));
    await this.d.recorder?.cleanStored(60_000).catch(() => {});
    this.d.metrics.live.set(await repo.countLive(this.db));
    return fired;
  }
}

function isConflict(err: unknown): boolean {
  const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code === '23505' || code === '40P01' || code === '40001';
}

/** A patch without its undefined keys (they leave a column as it is). */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
