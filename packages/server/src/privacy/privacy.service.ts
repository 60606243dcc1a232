import { DELETED_USER_NAME, type AccountDeletionDTO, type AccountExportDTO, type StreamEvent } from '@sohbet/protocol';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import type { MediaService } from '../media/media.service.ts';
import type { Bus } from '../realtime/bus.ts';
import type { EventLog } from '../realtime/event-log.ts';
import { safeContentType, type ObjectStorage } from '../storage/object-storage.ts';
import type { WebhookOutbox } from '../webhooks/webhooks.service.ts';
import { privacyRepo as repo } from './privacy.repo.ts';

export interface PrivacyDeps {
  database: Database;
  events: EventLog;
  bus: Bus;
  clock: Clock;
  log: Logger;
  storage: ObjectStorage;
  media: MediaService;
  webhooks: WebhookOutbox | null;
}

/** Download links in an export live this long. */
export const EXPORT_URL_SEC = 3600;
const TOMBSTONE_BATCH = 500;
/** Positive "not deleted" answers are cached this long per instance; deletions reach every instance at once over the bus. */
const ACTIVE_TTL_MS = 30_000;
/**
 * Deletions are announced to every instance on this pseudo-user's bus channel, so each closes the
 * account's sockets and refuses its tokens without waiting for its cache to expire.
 */
export const ACCOUNT_DELETED_CHANNEL = 'sys:account-deleted';

type SessionCloser = (userId: string) => number;

/**
 * A user's data export and account deletion. A deletion anonymises the profile, tombstones the
 * user's messages in place (seq kept, G1; shown as deleted by "Deleted user"), removes their files
 * and recordings from object storage, their devices, preferences and event log, closes their
 * sessions on every instance and refuses their tokens from then on (`auth.account_deleted`).
 */
export class PrivacyService {
  private readonly deleted = new Set<string>();
  private readonly active = new Map<string, number>();
  private closers: SessionCloser[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly d: PrivacyDeps) {}

  private get db() {
    return this.d.database.db;
  }

  /** Registered by the app: closes this instance's sockets of a user; returns how many. */
  onCloseSessions(fn: SessionCloser): void {
    this.closers.push(fn);
  }

  /** Listens for deletions made on other instances. */
  start(): void {
    this.unsubscribe ??= this.d.bus.subscribe(ACCOUNT_DELETED_CHANNEL, (d) => {
      const userId = (d.event.data as { userId?: unknown }).userId;
      if (typeof userId === 'string') this.markDeleted(userId);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Throws `auth.account_deleted` for a deleted account (every token verification goes through this). */
  async assertActive(userId: string): Promise<void> {
    if (this.deleted.has(userId)) throw deletedError();
    const until = this.active.get(userId);
    const now = Date.now();
    if (until !== undefined && until > now) return;
    if (await repo.deletedAt(this.db, userId)) {
      this.deleted.add(userId);
      throw deletedError();
    }
    if (this.active.size > 50_000) this.active.clear();
    this.active.set(userId, now + ACTIVE_TTL_MS);
  }

  private markDeleted(userId: string): number {
    this.deleted.add(userId);
    this.active.delete(userId);
    let closed = 0;
    for (const close of this.closers) closed += close(userId);
    return closed;
  }

  /** Everything kept about the user, with short-lived download links for their files and recordings. */
  async export(userId: string): Promise<AccountExportDTO> {
    const u = await repo.user(this.db, userId);
    if (!u || u.deletedAt) throw new AppError('user.not_found', 'no such user');
    const [memberships, msgs, reactions, files, calls, recordings, support, blocked, reports, devices, prefs] = await Promise.all([
      repo.memberships(this.db, userId),
      repo.messagesBy(this.db, userId),
      repo.reactionsBy(this.db, userId),
      repo.filesOf(this.db, userId),
      repo.callsOf(this.db, userId),
      repo.recordingsOf(this.db, userId),
      repo.supportChatsOf(this.db, userId),
      repo.blocksBy(this.db, userId),
      repo.reportsBy(this.db, userId),
      repo.devicesOf(this.db, userId),
      repo.prefsOf(this.db, userId),
    ]);
    const roster = await repo.membersOf(this.db, memberships.map((m) => m.c.id));
    const urlExpiresAt = new Date(this.d.clock.now().getTime() + EXPORT_URL_SEC * 1000).toISOString();
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    return {
      format: 'sohbet.account-export',
      version: 1,
      exportedAt: this.d.clock.now().toISOString(),
      profile: { id: u.id, name: u.name, avatarUrl: u.avatarUrl, roles: u.roles, createdAt: u.createdAt.toISOString(), lastSeenAt: iso(u.lastSeenAt) },
      conversations: memberships.map(({ m, c }) => ({
        id: c.id,
        kind: c.kind,
        title: c.title,
        context: c.context,
        role: m.role,
        joinedAt: m.joinedAt.toISOString(),
        lastReadSeq: m.lastReadSeq,
        muted: m.muted,
        archived: m.archived,
        members: roster.filter((r) => r.conversationId === c.id).map((r) => ({ userId: r.userId, name: r.name })),
      })),
      messages: msgs.map((m) => ({
        id: m.id,
        conversationId: m.conversationId,
        seq: m.seq,
        clientId: m.clientId,
        kind: m.kind,
        text: m.text,
        payload: m.payload,
        replyToSeq: m.replyToSeq,
        createdAt: m.createdAt.toISOString(),
        editedAt: iso(m.editedAt),
        deletedAt: iso(m.deletedAt),
      })),
      reactions: reactions.map((r) => ({ conversationId: r.conversationId, seq: r.seq, emoji: r.emoji, createdAt: r.createdAt.toISOString() })),
      files: await Promise.all(
        files.map(async (f) => ({
          id: f.id,
          conversationId: f.conversationId,
          kind: f.kind,
          name: f.name,
          mime: f.mime,
          size: f.size,
          createdAt: f.createdAt.toISOString(),
          messageSeq: f.messageSeq,
          url: await this.d.storage.downloadUrl(f.storageKey, { filename: f.name, contentType: safeContentType(f.mime ?? f.declaredMime), expiresInSec: EXPORT_URL_SEC }),
          urlExpiresAt,
        })),
      ),
      calls: calls.map((c) => ({
        id: c.id,
        conversationId: c.conversationId,
        direction: c.callerId === userId ? 'outgoing' : 'incoming',
        otherUserId: c.callerId === userId ? c.calleeId : c.callerId,
        media: c.media,
        state: c.state,
        endReason: c.endReason,
        recording: c.recording,
        createdAt: c.createdAt.toISOString(),
        acceptedAt: iso(c.acceptedAt),
        endedAt: iso(c.endedAt),
      })),
      callRecordings: await Promise.all(
        recordings.map(async (r) => ({
          id: r.id,
          callId: r.callId,
          contentType: r.contentType,
          sizeBytes: r.sizeBytes,
          createdAt: r.createdAt.toISOString(),
          url: !r.storageKey || r.bucket ? null : await this.d.storage.downloadUrl(r.storageKey, { filename: `call-${r.callId}-${userId}.webm`, contentType: r.contentType, expiresInSec: EXPORT_URL_SEC }),
          urlExpiresAt,
        })),
      ),
      supportChats: support.map((s) => ({
        id: s.id,
        conversationId: s.conversationId,
        topic: s.topic,
        state: s.state,
        priority: s.priority,
        firstMessage: s.firstMessage,
        createdAt: s.createdAt.toISOString(),
        resolvedAt: iso(s.resolvedAt),
        csatScore: s.csatScore,
        csatComment: s.csatComment,
      })),
      blocked: blocked.map((b) => ({ userId: b.blockedId, createdAt: b.createdAt.toISOString() })),
      reports: reports.map((r) => ({ reportedId: r.reportedId, conversationId: r.conversationId, reason: r.reason, note: r.note, status: r.status, createdAt: r.createdAt.toISOString() })),
      notifications: {
        devices: devices.map((x) => ({ id: x.id, kind: x.kind, token: x.token, createdAt: x.createdAt.toISOString() })),
        preferences: prefs
          ? { locale: prefs.locale, email: prefs.email, phone: prefs.phone, channels: prefs.channels, kinds: prefs.kinds, quietStart: prefs.quietStart, quietEnd: prefs.quietEnd, timeZone: prefs.timeZone }
          : null,
      },
    };
  }

  /** Deletes an account (idempotent: a second call reports `deletedNow: false` and finishes anything left). */
  async deleteAccount(userId: string): Promise<AccountDeletionDTO> {
    const at = this.d.clock.now();
    const first = await this.d.events.write(async (tx) => {
      const u = await repo.lockUser(tx, userId);
      if (!u) throw new AppError('user.not_found', 'no such user');
      if (u.deletedAt) return { deletedNow: false, deletedAt: u.deletedAt, files: 0, devices: 0 };
      await repo.anonymise(tx, userId, DELETED_USER_NAME, at);
      const files = await repo.scheduleFiles(tx, userId, at);
      const { devices } = await repo.removePersonalRows(tx, userId);
      return { deletedNow: true, deletedAt: at, files, devices };
    });
    // Refuse tokens and close sockets here at once, then on every other instance.
    const sessionsClosed = this.markDeleted(userId);
    this.d.bus.publish([{ userId: ACCOUNT_DELETED_CHANNEL, seq: null, event: { type: 'account.deleted', data: { userId } } as unknown as StreamEvent }]);
    const messagesTombstoned = await this.finishDeletion(userId, first.deletedAt);
    const recordingsRemoved = await this.removeRecordings(await repo.recordingsOf(this.db, userId));
    await this.d.media.sweep().catch((err) => this.d.log.warn({ err: (err as Error).message, userId }, 'file removal after account deletion failed; the media sweep retries'));
    if (first.deletedNow) this.d.log.info({ userId, messagesTombstoned, files: first.files, recordingsRemoved }, 'account deleted');
    return {
      userId,
      deletedAt: first.deletedAt.toISOString(),
      deletedNow: first.deletedNow,
      messagesTombstoned,
      filesRemoved: first.files,
      recordingsRemoved,
      devicesRemoved: first.devices,
      sessionsClosed,
    };
  }

  /**
   * Tombstones the account's remaining messages in batches, each with its `chat.message.deleted`
   * events to the other members (so open views update). Interrupted runs are finished by the sweep.
   */
  async finishDeletion(userId: string, at: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.d.events.write(async (tx, emit) => {
        const batch = await repo.tombstoneBatch(tx, userId, at, TOMBSTONE_BATCH);
        const byConv = await repo.membersByConversation(tx, [...new Set(batch.map((b) => b.conversationId))]);
        for (const b of batch) {
          const to = (byConv.get(b.conversationId) ?? []).filter((u) => u !== userId);
          emit(to, 'chat.message.deleted', { conversationId: b.conversationId, seq: b.seq, scope: 'everyone', deletedAt: at.toISOString() });
          await this.d.webhooks?.enqueue(tx, 'message.deleted', { conversationId: b.conversationId, seq: b.seq });
        }
        return batch.length;
      });
      total += n;
      if (n < TOMBSTONE_BATCH) return total;
    }
  }

  /** Deletes recording objects, then their rows (a failed object delete keeps the row for the next sweep). */
  async removeRecordings(rows: Array<{ id: string; storageKey: string | null; bucket?: string | null }>): Promise<number> {
    const done: string[] = [];
    for (const r of rows) {
      try {
        // A recording still being written or failed has no object yet. LiveKit Egress files live in the
        // deployment's own recording bucket (CALL_RECORDING_S3_*), which this service does not manage:
        // their rows go, the host's bucket lifecycle removes the files.
        if (r.storageKey && !r.bucket) await this.d.storage.delete(r.storageKey);
        done.push(r.id);
      } catch (err) {
        this.d.log.warn({ err: (err as Error).message, recordingId: r.id }, 'recording removal failed; deleting the account again retries it');
      }
    }
    await repo.removeRecordingRows(this.db, done);
    return done.length;
  }
}

function deletedError(): AppError {
  return new AppError('auth.account_deleted', 'this account was deleted');
}
