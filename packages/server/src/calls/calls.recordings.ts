import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { CallRecordingDTO, CallRecordingStatus } from '@sohbet/protocol';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import type { EventLog } from '../realtime/event-log.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { CallRecorder, LegFile } from './calls.recorder.ts';
import { callsRepo as repo, type CallRow, type RecordingRow } from './calls.repo.ts';

/** Where recordings go: the deployment's object storage (local disk or S3); calls use only this part of it. */
export type RecordingStore = Pick<ObjectStorage, 'put' | 'downloadUrl'>;

/** What a LiveKit Egress reported (webhook `egress_started`/`_updated`/`_ended`), reduced to what we keep. */
export interface EgressReport {
  egressId: string;
  callId: string;
  /** The Egress status name without its prefix: starting, active, ending, complete, failed, aborted, limit_reached. */
  status: 'starting' | 'active' | 'ending' | 'complete' | 'failed' | 'aborted' | 'limit_reached';
  error: string;
  file: { key: string; sizeBytes: number; durationMs: number } | null;
}

export interface RecordingsDeps {
  database: Database;
  events: EventLog;
  clock: Clock;
  log: Logger;
  /** The deployment's storage: p2p recordings are uploaded here. */
  storage: RecordingStore;
  /** The bucket LiveKit Egress uploads to (CALL_RECORDING_S3_*), when configured. */
  egressStore: RecordingStore | null;
  recorder: CallRecorder | null;
  /** ffmpeg on PATH: a file cut short by a crash is remuxed so players see its real length. */
  ffmpeg: Promise<boolean>;
}

const LINK_TTL_SEC = 3600;
/** A recording still `recording` this long after its call ended has no writer left. */
const LOST_AFTER_MS = { p2p: 10 * 60_000, egress: 60 * 60_000 };

/**
 * The recordings of calls as durable records: a row exists from the moment a recording starts
 * (`recording`), so a recorder that dies with its process leaves a trace that is finalized on the
 * next boot (`partial`, from what was written) instead of vanishing. Every status change reaches
 * both parties as `call.recording.updated`. Downloads are short-lived signed links, parties
 * (and admins) only.
 */
export class CallRecordings {
  constructor(private readonly d: RecordingsDeps) {}

  private get db() {
    return this.d.database.db;
  }

  // ---- p2p: the server-side recorder ----

  /** Whether this party's recording of the call is already stored or given up (ready, partial, failed). */
  async finishedFor(callId: string, userId: string): Promise<boolean> {
    const r = await repo.recording(this.db, legId(callId, userId));
    return !!r && r.status !== 'recording';
  }

  /** A party's recorder leg started writing. */
  async legStarted(call: CallRow, userId: string): Promise<void> {
    await this.save(call, { id: legId(call.id, userId), callId: call.id, userId, status: 'recording', contentType: 'video/webm', sizeBytes: 0, storageKey: null, error: null, durationMs: null });
  }

  /** Stores finished leg files (`status` ready, or partial when the server is stopping mid-call). */
  async storeLegs(call: CallRow, files: LegFile[], outcome: { status: 'ready' | 'partial'; error: string | null }): Promise<void> {
    for (const f of files) {
      const key = `calls/${call.id}/${f.userId}.webm`;
      try {
        if (f.size === 0) {
          await this.save(call, { id: legId(call.id, f.userId), callId: call.id, userId: f.userId, status: 'failed', error: outcome.error ?? 'no_media', contentType: 'video/webm', sizeBytes: 0, storageKey: null, durationMs: null });
          await this.d.recorder?.markStored(f);
          continue;
        }
        await this.d.storage.put(key, createReadStream(f.file), { contentType: 'video/webm' });
        await this.save(call, { id: legId(call.id, f.userId), callId: call.id, userId: f.userId, status: outcome.status, error: outcome.error, contentType: 'video/webm', sizeBytes: f.size, storageKey: key, durationMs: f.durationMs });
        await this.d.recorder?.markStored(f);
      } catch (err) {
        this.d.log.warn({ err: (err as Error).message, callId: call.id, userId: f.userId }, 'storing the call recording failed');
      }
    }
  }

  /**
   * After a restart: every leg file the previous process left in the recorder's work folder is a
   * recording that was cut short. It is remuxed (the crash left no duration or index), stored as
   * `partial` with `server_restarted`, and both parties are told; an empty or unreadable one is
   * `failed`. Then recordings whose writer is gone for good (another instance that never came
   * back) are marked failed by {@link sweepLost}.
   */
  async recover(): Promise<number> {
    const recorder = this.d.recorder;
    if (!recorder) return 0;
    let n = 0;
    for (const f of await recorder.leftovers()) {
      const call = await repo.get(this.db, f.callId);
      if (!call) {
        await recorder.markStored(f);
        continue;
      }
      const fixed = await this.remux(f.file);
      await this.storeLegs(call, [fixed ?? { ...f, durationMs: null }], { status: 'partial', error: 'server_restarted' });
      n++;
    }
    await recorder.cleanStored(0);
    return n;
  }

  /** ffmpeg -c copy: rewrites the header (duration) and index of a WebM that was never closed. */
  private async remux(file: string): Promise<LegFile | null> {
    const callId = file.split('/').at(-2)!;
    const userId = file.split('/').at(-1)!.replace(/\.webm$/, '');
    if (!(await this.d.ffmpeg)) return null;
    const out = file.replace(/\.webm$/, '.fixed.webm');
    const ok = await new Promise<boolean>((resolve) => {
      const p = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', file, '-c', 'copy', '-f', 'webm', out], { stdio: 'ignore' });
      p.on('error', () => resolve(false));
      p.on('exit', (code) => resolve(code === 0));
    });
    const size = ok ? ((await stat(out).catch(() => null))?.size ?? 0) : 0;
    if (!ok || size === 0) return { callId, userId, file, size: 0, durationMs: null };
    return { callId, userId, file: out, size, durationMs: await probeDurationMs(out) };
  }

  /** Recordings stuck in `recording` long after their call ended: their writer is gone. */
  async sweepLost(): Promise<void> {
    const now = this.d.clock.now().getTime();
    for (const { rec, call } of await repo.openRecordings(this.db)) {
      if (call.state !== 'ended' || !call.endedAt) continue;
      const after = rec.egressId ? LOST_AFTER_MS.egress : LOST_AFTER_MS.p2p;
      if (now - call.endedAt.getTime() < after) continue;
      await this.save(call, { ...rec, status: 'failed', error: rec.egressId ? 'egress_lost' : 'recorder_lost' });
    }
  }

  // ---- LiveKit Egress ----

  /** Egress started (or could not start) when the call was answered. */
  async egressStarted(call: CallRow, r: { egressId?: string; error?: string }): Promise<void> {
    if (r.egressId) await this.save(call, { id: r.egressId, callId: call.id, userId: null, egressId: r.egressId, status: 'recording', contentType: 'video/mp4', sizeBytes: 0, storageKey: null, error: null, durationMs: null });
    else if (r.error) await this.save(call, { id: `${call.id}-egress`, callId: call.id, userId: null, status: 'failed', contentType: 'video/mp4', sizeBytes: 0, storageKey: null, error: r.error.slice(0, 500), durationMs: null });
  }

  /**
   * Reconciles a recording with an Egress report. Deliveries can come late or out of order, so a
   * finished record (ready, partial, failed) is never moved back to `recording`.
   */
  async onEgress(e: EgressReport): Promise<CallRecordingDTO | null> {
    const call = await repo.get(this.db, e.callId);
    if (!call) return null;
    const prior = await repo.recording(this.db, e.egressId);
    if (prior && prior.callId !== call.id) return null;
    const base = { id: e.egressId, callId: call.id, userId: null, egressId: e.egressId, contentType: 'video/mp4', bucket: 'egress' };
    let next: Parameters<CallRecordings['save']>[1];
    if (e.status === 'complete' || e.status === 'limit_reached') {
      next = e.file && e.file.sizeBytes > 0
        ? { ...base, status: e.status === 'complete' ? 'ready' : 'partial', error: e.status === 'complete' ? null : 'limit_reached', storageKey: e.file.key, sizeBytes: e.file.sizeBytes, durationMs: e.file.durationMs }
        : { ...base, status: 'failed', error: e.error || 'no_media', storageKey: null, sizeBytes: 0, durationMs: null };
    } else if (e.status === 'failed' || e.status === 'aborted') {
      next = { ...base, status: 'failed', error: e.error || e.status, storageKey: null, sizeBytes: 0, durationMs: null };
    } else {
      if (prior && prior.status !== 'recording') return toDTO(prior, null);
      next = { ...base, status: 'recording', error: null, storageKey: null, sizeBytes: 0, durationMs: null };
    }
    return toDTO(await this.save(call, next), null);
  }

  // ---- reading ----

  /** A call's recordings, each ready or partial one with a signed link valid one hour. */
  async list(call: CallRow): Promise<CallRecordingDTO[]> {
    return Promise.all((await repo.recordings(this.db, call.id)).map(async (r) => toDTO(r, playable(r.status) ? await this.link(r) : null)));
  }

  /** One recording's download link; a typed error while it is still being written or when it failed. */
  async url(call: CallRow, recordingId: string): Promise<{ url: string; expiresInSec: number }> {
    const r = await repo.recording(this.db, recordingId);
    if (!r || r.callId !== call.id) throw new AppError('call.recording_not_found', 'no such recording');
    if (r.status === 'recording') throw new AppError('call.recording_not_ready', 'the recording is still being written');
    if (r.status === 'failed') throw new AppError('call.recording_failed', `the recording failed: ${r.error ?? 'unknown'}`, { reason: r.error });
    return { url: await this.link(r), expiresInSec: LINK_TTL_SEC };
  }

  private async link(r: RecordingRow): Promise<string> {
    const store = r.bucket === 'egress' ? this.d.egressStore : this.d.storage;
    if (!store || !r.storageKey) throw new AppError('call.recording_not_found', 'the recording file is not reachable from this server');
    const ext = r.contentType === 'video/mp4' ? 'mp4' : 'webm';
    return store.downloadUrl(r.storageKey, { filename: `call-${r.callId}${r.userId ? `-${r.userId}` : ''}.${ext}`, contentType: r.contentType, expiresInSec: LINK_TTL_SEC });
  }

  /** Upserts the record and, in the same transaction, tells both parties when its status or file changed. */
  private async save(call: CallRow, row: Omit<RecordingRow, 'createdAt' | 'updatedAt' | 'egressId' | 'bucket'> & { egressId?: string | null; bucket?: string | null }): Promise<RecordingRow> {
    return this.d.events.write(async (tx, emit) => {
      const before = await repo.recording(tx, row.id);
      const after = await repo.upsertRecording(tx, { ...row, updatedAt: this.d.clock.now() });
      if (!before || before.status !== after.status || before.sizeBytes !== after.sizeBytes) {
        emit([...new Set([call.callerId, call.calleeId])], 'call.recording.updated', { recording: toDTO(after, null) });
      }
      return after;
    });
  }
}

const playable = (s: CallRecordingStatus) => s === 'ready' || s === 'partial';
const legId = (callId: string, userId: string) => `${callId}-${userId}`.slice(0, 200);

export function toDTO(r: RecordingRow, url: string | null): CallRecordingDTO {
  return {
    id: r.id,
    callId: r.callId,
    userId: r.userId,
    status: r.status,
    error: r.error,
    contentType: r.contentType,
    sizeBytes: r.sizeBytes,
    durationMs: r.durationMs,
    createdAt: r.createdAt.toISOString(),
    url,
  };
}

/** The container's duration per ffprobe (null when unknown). */
export function probeDurationMs(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    let out = '';
    const p = spawn('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.on('error', () => resolve(null));
    p.on('exit', () => {
      const s = Number.parseFloat(out.trim());
      resolve(Number.isFinite(s) ? Math.round(s * 1000) : null);
    });
  });
}
