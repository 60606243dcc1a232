import type { LimitsService } from '../abuse/limits.service.ts';
import type { AttachmentDTO, AttachmentKind, MediaUrlDTO, MediaUsageDTO, MessagePayload, RequestUploadInput, UploadTicket } from '@sohbet/protocol';
import type { ConversationsService } from '../chat/conversations.service.ts';
import { chatRepo } from '../chat/chat.repo.ts';
import type { MediaConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Database, Executor, Tx } from '../db/db.ts';
import type { EventLog } from '../realtime/event-log.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { ClamAv } from './clamav.ts';
import { processAudio } from './media.audio.ts';
import { checkDeclaredSize, checkMessageAttachments, checkType, claimedFamily, maxBytesFor, messageKindOf, sniff } from './media.domain.ts';
import { attachmentDTO } from './media.dto.ts';
import { processImage } from './media.image.ts';
import { mediaRepo as repo, type MediaRow } from './media.repo.ts';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';

/** The first `n` bytes of a stream (then it is closed). */
async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= n) break;
  }
  stream.destroy();
  return Buffer.concat(parts).subarray(0, n);
}

export interface MediaDeps {
  database: Database;
  events: EventLog;
  clock: Clock;
  log: Logger;
  storage: ObjectStorage;
  config: MediaConfig;
  conversations: ConversationsService;
  clamav: ClamAv | null;
  ffmpeg: Promise<boolean>;
  limits: LimitsService;
}

/** Signed upload URLs live this long at most (the row itself expires later, see dueAt). */
const UPLOAD_URL_MAX_SEC = 900;
const DOWNLOAD_URL_SEC = 300;
const SWEEP_BATCH = 20;

/**
 * Attachments: request (signed URL) -> client uploads straight to storage -> finalize (real size,
 * sniffed type, scan, image/voice processing) -> attached to a message in its send transaction.
 * Files of deleted messages and uploads never finalized or never sent are removed by a durable
 * sweep (due times in the database, rows claimed with SKIP LOCKED).
 */
export class MediaService {
  constructor(private readonly d: MediaDeps) {}

  private get db() {
    return this.d.database.db;
  }
  private now() {
    return this.d.clock.now();
  }

  async requestUpload(actorId: string, input: RequestUploadInput): Promise<UploadTicket> {
    await this.d.limits.take('upload', actorId);
    await this.d.conversations.requireMember(this.db, input.conversationId, actorId);
    checkDeclaredSize(input.kind, input.size, this.d.config.limits);
    const claimed = claimedFamily(input.name, input.mime);
    if (claimed === 'executable' || claimed === 'markup') throw new AppError('media.type_not_allowed', 'this type of file cannot be sent');
    const id = newId('att');
    const now = this.now();
    const urlSec = Math.min(UPLOAD_URL_MAX_SEC, this.d.config.uploadTtlSec);
    await repo.insert(this.db, {
      id, ownerId: actorId, conversationId: input.conversationId, kind: input.kind, name: input.name, declaredMime: input.mime, declaredSize: input.size,
      storageKey: `m/${id}/o`, createdAt: now,
      // Past the URL's expiry plus a margin, so the sweep never races an upload still allowed.
      dueAt: new Date(now.getTime() + Math.max(this.d.config.uploadTtlSec, urlSec + 60) * 1000),
    });
    const up = await this.d.storage.uploadUrl(`m/${id}/o`, { contentType: input.mime, size: input.size, expiresInSec: urlSec });
    return { attachmentId: id, ...up, expiresAt: new Date(now.getTime() + urlSec * 1000).toISOString() };
  }

  /** Checks and processes the uploaded bytes. Anything wrong: a typed error and nothing kept. Idempotent once ready. */
  async finalize(actorId: string, attachmentId: string): Promise<AttachmentDTO> {
    const row = await repo.byId(this.db, attachmentId);
    if (!row || row.ownerId !== actorId || row.state === 'deleting') throw new AppError('media.not_found', 'no such upload');
    if (row.state !== 'pending') return attachmentDTO(row);
    const st = await this.d.storage.stat(row.storageKey);
    if (!st) throw new AppError('media.not_uploaded', 'nothing was uploaded yet');
    try {
      const patch = await this.inspect(row, st.size);
      const ready = await repo.markReady(this.db, row.id, { ...patch, finalizedAt: this.now(), dueAt: new Date(this.now().getTime() + this.d.config.uploadTtlSec * 1000) });
      if (!ready) {
        // Finalized concurrently (fine) or swept meanwhile (gone).
        const again = await repo.byId(this.db, row.id);
        if (again && again.state !== 'pending' && again.state !== 'deleting') return attachmentDTO(again);
        throw new AppError('media.not_found', 'the upload expired');
      }
      return attachmentDTO(ready);
    } catch (err) {
      if (err instanceof AppError) await this.discard(row);
      throw err;
    }
  }

  private async inspect(row: MediaRow, size: number): Promise<Partial<MediaRow>> {
    const limits = this.d.config.limits;
    if (size === 0) throw new AppError('media.empty', 'the file is empty');
    if (size > maxBytesFor(row.kind, limits)) throw new AppError('media.too_large', `a ${row.kind} may be at most ${Math.floor(maxBytesFor(row.kind, limits) / 1024 / 1024)} MB`);
    if (size !== row.declaredSize) throw new AppError('media.size_mismatch', `the upload has ${size} bytes, not the ${row.declaredSize} announced`);
    // Only images and audio are decoded, so only they are held in memory (read once, sniffed from
    // their first bytes); other files are sniffed from their head and streamed to the scanner.
    const likelyDecoded = row.kind !== 'file' || ['image', 'audio'].includes(claimedFamily(row.name, row.declaredMime) ?? '');
    let bytes = likelyDecoded ? await buffer(await this.d.storage.read(row.storageKey)) : null;
    const sniffed = sniff(bytes ? bytes.subarray(0, 8192) : await readHead(await this.d.storage.read(row.storageKey), 8192));
    checkType(row.kind, row.name, row.declaredMime, sniffed);
    const decode = sniffed.family === 'image' || sniffed.family === 'audio' || row.kind === 'voice';
    if (decode) bytes ??= await buffer(await this.d.storage.read(row.storageKey));
    else bytes = null;
    if (this.d.clamav) {
      const virus = await this.d.clamav.scan(bytes ?? (await this.d.storage.read(row.storageKey)));
      if (virus) {
        this.d.log.warn({ attachmentId: row.id, ownerId: row.ownerId, virus }, 'infected upload rejected');
        throw new AppError('media.infected', 'the file contains malware and was removed', { signature: virus });
      }
    }
    const patch: Partial<MediaRow> = { mime: sniffed.mime, size };
    if (sniffed.family === 'image') {
      const img = await processImage(bytes!, sniffed.mime);
      await this.d.storage.put(row.storageKey, img.clean, { contentType: sniffed.mime, contentLength: img.clean.length });
      await this.d.storage.put(`m/${row.id}/t`, img.thumbnail, { contentType: 'image/webp', contentLength: img.thumbnail.length });
      Object.assign(patch, { size: img.clean.length, width: img.width, height: img.height, placeholder: img.placeholder, thumbKey: `m/${row.id}/t` });
    }
    if (row.kind === 'voice' || sniffed.family === 'audio') {
      const audio = await processAudio(bytes!, { ffmpeg: this.d.ffmpeg });
      if (row.kind === 'voice' && audio.durationMs > limits.voiceSeconds * 1000) throw new AppError('media.too_long', `a voice message may be at most ${limits.voiceSeconds} s`);
      Object.assign(patch, { durationMs: audio.durationMs, waveform: audio.waveform });
    }
    return patch;
  }

  /** Removes a rejected upload's objects now and its row (the sweep retries if storage fails). */
  private async discard(row: MediaRow): Promise<void> {
    try {
      await this.removeObjects(this.db, [row]);
      await repo.remove(this.db, [row.id]);
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, attachmentId: row.id }, 'discard failed; the sweep will retry');
      await repo.scheduleRemoval(this.db, row.id, this.now());
    }
  }

  /**
   * Deletes the objects of these rows that no other live row references (a forward shares its
   * original's objects; the last reference to go removes them). `ex` sees the rows being removed.
   */
  private async removeObjects(ex: Executor, gone: MediaRow[]): Promise<void> {
    // An original's thumbnail may exist before its row names it (written, then the row was swept).
    const keys = [...new Set(gone.flatMap((r) => [r.storageKey, r.thumbKey ?? r.storageKey.replace(/\/o$/, '/t')]))];
    const inUse = await repo.keysInUse(ex, keys, gone.map((r) => r.id));
    for (const k of keys) if (!inUse.has(k)) await this.d.storage.delete(k);
  }

  /** A short-lived download URL, for members of the attachment's conversation only. */
  async url(actorId: string, input: { attachmentId: string; variant: 'original' | 'thumbnail' }): Promise<MediaUrlDTO> {
    const row = await repo.byId(this.db, input.attachmentId);
    // Unsent uploads are the uploader's alone; anything else unknown looks the same as missing.
    if (!row || row.state === 'deleting' || row.state === 'pending' || (row.state === 'ready' && row.ownerId !== actorId)) throw new AppError('media.not_found', 'no such file');
    // Not chat.not_member: that would tell an outsider the attachment id exists.
    const member = await this.d.conversations.requireMember(this.db, row.conversationId, actorId).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'chat.not_member') return null;
      throw err;
    });
    if (!member || (row.messageSeq !== null && row.messageSeq <= member.joinedSeq)) throw new AppError('media.not_found', 'no such file');
    const thumb = input.variant === 'thumbnail';
    if (thumb && !row.thumbKey) throw new AppError('media.not_found', 'this file has no thumbnail');
    const url = await this.d.storage.downloadUrl(thumb ? row.thumbKey! : row.storageKey, {
      filename: thumb ? `${row.name.replace(/\.[^.]*$/, '')}.webp` : row.name,
      contentType: thumb ? 'image/webp' : (row.mime ?? 'application/octet-stream'),
      expiresInSec: DOWNLOAD_URL_SEC,
    });
    return { url, expiresAt: new Date(this.now().getTime() + DOWNLOAD_URL_SEC * 1000).toISOString() };
  }

  /** The uploader drops an upload that was not sent (cancelled, removed from the composer). */
  async cancel(actorId: string, attachmentId: string): Promise<void> {
    const row = await repo.byId(this.db, attachmentId);
    if (!row || row.ownerId !== actorId || row.state === 'attached') throw new AppError('media.not_found', 'no such unsent upload');
    await this.discard(row);
  }

  /**
   * Called inside the message's send transaction: claims the sender's finalized uploads for this
   * conversation, so a file is in at most one message and only where it was uploaded for.
   */
  async attach(tx: Tx, q: { actorId: string; conversationId: string; ids: string[]; seq: number }): Promise<{ kind: AttachmentKind; payload: MessagePayload }> {
    const ids = [...new Set(q.ids)];
    const rows = await repo.attach(tx, { ownerId: q.actorId, conversationId: q.conversationId, seq: q.seq, ids });
    if (rows.length !== ids.length) {
      const found = await repo.byIds(tx, ids);
      const bad = ids.map((id) => found.find((r) => r.id === id)).find((r) => !r || r.ownerId !== q.actorId || r.conversationId !== q.conversationId || r.state !== 'ready');
      if (bad?.state === 'attached' && bad.ownerId === q.actorId) throw new AppError('media.already_used', 'this upload is already in a message');
      if (bad?.state === 'pending' && bad.ownerId === q.actorId) throw new AppError('media.not_ready', 'finalize the upload before sending it');
      throw new AppError('media.not_found', 'no such upload');
    }
    const ordered = ids.map((id) => rows.find((r) => r.id === id)!);
    checkMessageAttachments(ordered.map((r) => r.kind));
    return { kind: messageKindOf(ordered.map((r) => r.kind)), payload: { type: 'media', attachments: ordered.map(attachmentDTO) } };
  }

  /**
   * Called inside a forward's send transaction: the new message gets attachments of its own (new
   * ids, in the target conversation, so its members get signed URLs and nobody else does) that
   * reference the same stored objects — no bytes are copied. The source rows are locked FOR SHARE,
   * so a concurrent delete-for-everyone of the original either waits for this forward (and the
   * objects stay, referenced by it) or has already won (and the forward is refused).
   */
  async forward(tx: Tx, q: { from: { conversationId: string; seq: number }; conversationId: string; seq: number; ids: string[] }): Promise<MessagePayload> {
    const src = await repo.lockMessageFiles(tx, q.from.conversationId, q.from.seq);
    const ordered = q.ids.map((id) => src.find((r) => r.id === id));
    if (!ordered.length || ordered.some((r) => !r || r.state !== 'attached')) throw new AppError('chat.deleted', 'the message to forward was deleted');
    const now = this.now();
    const copies = await repo.insertMany(
      tx,
      ordered.map((r) => ({
        ...r!, id: newId('att'), conversationId: q.conversationId, messageSeq: q.seq, state: 'attached' as const, dueAt: null, createdAt: now,
      })),
    );
    const byKey = new Map(copies.map((c) => [c.storageKey, c]));
    return { type: 'media', attachments: ordered.map((r) => attachmentDTO(byKey.get(r!.storageKey)!)) };
  }

  /** Called inside the delete-for-everyone transaction: the message's files become due for removal. */
  async onMessageDeleted(tx: Tx, conversationId: string, seq: number): Promise<void> {
    await repo.scheduleMessageFiles(tx, conversationId, seq, this.now());
  }

  /** The first play of a voice message by someone other than its sender (like a read receipt). */
  async markHeard(actorId: string, input: { conversationId: string; seq: number }): Promise<void> {
    await this.d.events.write(async (tx, emit) => {
      const me = await this.d.conversations.requireMember(tx, input.conversationId, actorId);
      const msg = await chatRepo.message(tx, input.conversationId, input.seq);
      if (!msg || msg.seq <= me.joinedSeq || msg.kind !== 'voice' || msg.deletedAt) throw new AppError('chat.message_not_found', 'no such voice message');
      if (msg.senderId === actorId) return;
      const heardAt = this.now();
      if (!(await repo.markHeard(tx, { conversationId: input.conversationId, seq: input.seq, userId: actorId, heardAt }))) return;
      const members = await chatRepo.members(tx, input.conversationId);
      emit(members.map((m) => m.userId), 'media.voice.heard', { conversationId: input.conversationId, seq: input.seq, userId: actorId, heardAt: heardAt.toISOString() });
    });
  }

  async heard(actorId: string, input: { conversationId: string; seqs: number[] }): Promise<Array<{ seq: number; userId: string; heardAt: string }>> {
    await this.d.conversations.requireMember(this.db, input.conversationId, actorId);
    return (await repo.heard(this.db, input.conversationId, input.seqs)).map((h) => ({ seq: Number(h.seq), userId: h.userId, heardAt: h.heardAt.toISOString() }));
  }

  /** Storage kept per user, for the host's admins (server API). */
  async usage(userId?: string): Promise<MediaUsageDTO[]> {
    return repo.usage(this.db, userId);
  }

  /** Removes everything past its due time. Safe on several instances at once (SKIP LOCKED). */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.db.transaction(async (tx) => {
        const due = await repo.claimDue(tx, this.now(), SWEEP_BATCH);
        await this.removeObjects(tx, due);
        await repo.remove(tx, due.map((r) => r.id));
        return due.length;
      });
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /**
   * The safety net behind every path that removes messages or conversations without telling media
   * (a conversation deleted with its rows by cascade, messages removed or blanked by retention,
   * moderation or account deletion, SQL run by the host): attachments whose message no longer
   * shows them become due, then every object under `m/` that no row claims is deleted. Idempotent,
   * so instances running it at once only repeat each other's work.
   */
  async reconcile(): Promise<{ scheduled: number; orphans: number }> {
    const scheduled = await repo.scheduleUnreferenced(this.db, this.now());
    await this.sweep();
    let orphans = 0;
    for await (const page of this.d.storage.list('m/')) {
      const claimed = await repo.claimedKeys(this.db, page);
      for (const key of page) {
        if (claimed.has(key)) continue;
        await this.d.storage.delete(key);
        orphans++;
      }
    }
    if (scheduled || orphans) this.d.log.info({ scheduled, orphans }, 'media reconcile removed files no message shows');
    return { scheduled, orphans };
  }

  private timer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;

  /** Runs the sweep and the reconcile pass periodically; due times live in the database, so a restart loses nothing. */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep().catch((err) => this.d.log.warn({ err: (err as Error).message }, 'media sweep failed')), this.d.config.sweepMs);
    this.timer.unref();
    this.reconcileTimer ??= setInterval(() => void this.reconcile().catch((err) => this.d.log.warn({ err: (err as Error).message }, 'media reconcile failed')), this.d.config.reconcileMs);
    this.reconcileTimer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.timer = null;
    this.reconcileTimer = null;
  }
}
