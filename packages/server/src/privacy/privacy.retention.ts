import type { PrivacyConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import type { MediaService } from '../media/media.service.ts';
import { retentionCutoffs } from './privacy.domain.ts';
import { privacyRepo as repo } from './privacy.repo.ts';
import type { PrivacyService } from './privacy.service.ts';

export interface RetentionDeps {
  database: Database;
  clock: Clock;
  log: Logger;
  config: PrivacyConfig;
  media: MediaService;
  privacy: PrivacyService;
}

export interface RetentionResult {
  messages: number;
  files: number;
  recordings: number;
  deletionsFinished: number;
}

const JOB = 'retention';
const BATCH = 500;
/** One run never holds the database longer than this many batches; the next run continues. */
const MAX_BATCHES = 200;

/**
 * The retention sweep (RETENTION_* days; unset = keep): messages past retention become tombstones
 * (seq kept, G1), files and call recordings past retention leave object storage. It also finishes
 * account deletions that were interrupted. Every instance ticks, but a run is claimed with a
 * conditional update on `privacy_jobs.next_run_at`, so it fires once per period across instances.
 */
export class RetentionSweep {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: RetentionDeps) {}

  /** Runs now if this instance wins the period's claim; null when another instance already has. */
  async runIfDue(): Promise<RetentionResult | null> {
    const now = this.d.clock.now();
    const claimed = await repo.claimJob(this.d.database.db, JOB, now, new Date(now.getTime() + this.d.config.sweepMs));
    if (!claimed) return null;
    const result = await this.run(now);
    await repo.recordJob(this.d.database.db, JOB, result);
    if (result.messages || result.files || result.recordings || result.deletionsFinished) this.d.log.info(result, 'retention sweep');
    return result;
  }

  private async run(now: Date): Promise<RetentionResult> {
    const db = this.d.database.db;
    const result: RetentionResult = { messages: 0, files: 0, recordings: 0, deletionsFinished: 0 };
    for (const userId of await repo.unfinishedDeletions(db, 20)) {
      const at = (await repo.user(db, userId))?.deletedAt ?? now;
      await this.d.privacy.finishDeletion(userId, at);
      result.deletionsFinished += 1;
    }
    const cut = retentionCutoffs(this.d.config.retention, now);
    if (cut.messages) {
      for (let i = 0; i < MAX_BATCHES; i++) {
        const n = (await db.transaction((tx) => repo.expireMessages(tx, cut.messages!, now, BATCH))).length;
        result.messages += n;
        if (n < BATCH) break;
      }
    }
    if (cut.attachments) result.files = await repo.expireFiles(db, cut.attachments, now);
    if (cut.recordings) {
      for (let i = 0; i < MAX_BATCHES; i++) {
        const rows = await repo.expiredRecordings(db, cut.recordings, BATCH);
        const n = await this.d.privacy.removeRecordings(rows);
        result.recordings += n;
        if (rows.length < BATCH || n === 0) break;
      }
    }
    if (cut.messages || cut.attachments) await this.d.media.sweep();
    return result;
  }

  /** Ticks at most every minute; the claim decides whether this tick runs the sweep. */
  start(): void {
    const tick = Math.min(this.d.config.sweepMs, 60_000);
    this.timer ??= setInterval(() => void this.runIfDue().catch((err) => this.d.log.warn({ err: (err as Error).message }, 'retention sweep failed')), tick);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
