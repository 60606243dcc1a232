import { REPORT_CONTEXT_MESSAGES, type AuditEntryDTO, type ChatReportInput, type ReportDTO, type ResolveReportInput, type SuspensionDTO } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Database, Executor, Tx } from '../db/db.ts';
import type { Bus } from '../realtime/bus.ts';
import type { EventLog } from '../realtime/event-log.ts';
import { chatRepo } from '../chat/chat.repo.ts';
import { messageDTO } from '../chat/chat.dto.ts';
import type { ConversationsService } from '../chat/conversations.service.ts';
import type { MessagesService } from '../chat/messages.service.ts';
import type { WebhookOutbox } from '../webhooks/webhooks.service.ts';
import { assertActionsFit, statusAfter, suspensionActive } from './safety.domain.ts';
import { safetyRepo as repo, type ReportRow, type SuspensionRow } from './safety.repo.ts';

/** Who did it: a signed-in admin/moderator, or the host backend with the server API key. */
export type Actor = { kind: 'user'; id: string } | { kind: 'server' };

export interface SafetyDeps {
  database: Database;
  events: EventLog;
  bus: Bus;
  clock: Clock;
  log: Logger;
  webhooks: WebhookOutbox | null;
  conversations: ConversationsService;
  messages: MessagesService;
}

/**
 * Instances tell each other about suspensions on this bus "user": each closes the suspended
 * user's sockets and forgets its cached answer. Never a real user id (ids come from JWT `sub`).
 */
const CONTROL_CHANNEL = '\u0000sohbet-safety';
/** How long "not suspended" is trusted per user before it is read again (bounds a lost bus message). */
const CACHE_MS = 5_000;
/** How often connected users are re-checked (closes sockets of a suspension whose bus message was lost). */
const SWEEP_MS = 15_000;

const actorId = (a: Actor) => (a.kind === 'server' ? 'server' : a.id);

/** Reports (users and messages), the moderators' review queue, suspensions and the audit log. */
export class SafetyService {
  private readonly cache = new Map<string, { row: SuspensionRow | null; at: number }>();
  private stopControl: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: SafetyDeps) {}

  // ---- reports ----

  /** A user reports a user, or one message (then evidence = that message and the ones around it). */
  async report(reporterId: string, input: ChatReportInput): Promise<{ reportId: number }> {
    if (!input.messageId) return this.d.conversations.report(reporterId, { userId: input.userId!, reason: input.reason, conversationId: input.conversationId, note: input.note });
    const db = this.d.database.db;
    const me = await this.d.conversations.requireMember(db, input.conversationId!, reporterId);
    const msg = await repo.messageById(db, input.messageId);
    // Same answer for a message elsewhere, before the reporter joined, or none at all.
    if (!msg || msg.conversationId !== input.conversationId || msg.seq <= me.joinedSeq) throw new AppError('chat.message_not_found', 'no such message');
    if (!msg.senderId) throw new AppError('input.invalid', 'system notices cannot be reported');
    if (msg.senderId === reporterId) throw new AppError('input.invalid', 'you cannot report your own message');
    if (input.userId && input.userId !== msg.senderId) throw new AppError('input.invalid', 'userId must be the sender of the reported message');
    if (msg.deletedAt) throw new AppError('chat.deleted', 'the message was already deleted');
    const around = await repo.messagesBetween(db, msg.conversationId, Math.max(me.joinedSeq + 1, msg.seq - REPORT_CONTEXT_MESSAGES), msg.seq + REPORT_CONTEXT_MESSAGES);
    const evidence = around.map((m) => messageDTO(m));
    return this.d.events.write(async (tx) => {
      const id = await repo.insertReport(tx, {
        reporterId, reportedId: msg.senderId!, conversationId: msg.conversationId, messageId: msg.id, reason: input.reason, note: input.note ?? null, evidence,
      });
      await this.d.webhooks?.enqueue(tx, 'user.reported', {
        reportId: id, reporterId, reportedId: msg.senderId, conversationId: msg.conversationId, messageId: msg.id, reason: input.reason, note: input.note ?? null, evidence,
      });
      return { reportId: id };
    });
  }

  async listReports(q: { status?: ReportRow['status']; reportedId?: string; before?: number; limit: number }): Promise<ReportDTO[]> {
    const list = await repo.listReports(this.d.database.db, q);
    return this.reportDTOs(this.d.database.db, list);
  }

  async getReport(reportId: number): Promise<ReportDTO> {
    const row = await repo.report(this.d.database.db, reportId);
    if (!row) throw new AppError('safety.report_not_found', 'no such report');
    return (await this.reportDTOs(this.d.database.db, [row]))[0]!;
  }

  /**
   * A moderator's decision, all in one transaction: the report is closed only if it is still open
   * (two moderators at once: one wins, the other gets `safety.report_closed`), its actions are
   * applied, each change is written to the audit log, and `report.resolved` is queued for the host.
   */
  async resolve(actor: Actor, input: ResolveReportInput): Promise<ReportDTO> {
    let suspended: string | null = null;
    await this.d.events.write(async (tx, emit) => {
      const report = await repo.report(tx, input.reportId);
      if (!report) throw new AppError('safety.report_not_found', 'no such report');
      if (report.status !== 'open') throw new AppError('safety.report_closed', `this report was already ${report.status}`, { status: report.status, resolvedBy: report.resolvedBy });
      assertActionsFit(input.actions, report);
      const now = this.d.clock.now();
      const resolution = { actions: input.actions, note: input.note ?? null, message: input.message ?? null, suspendHours: input.suspendHours ?? null };
      const status = statusAfter(input.actions);
      if (!(await repo.closeReport(tx, report.id, { status, resolution, resolvedBy: actorId(actor), resolvedAt: now }))) {
        throw new AppError('safety.report_closed', 'this report was already closed');
      }
      await this.audit(tx, actor, 'report.resolve', 'report', String(report.id), { ...resolution, status, reportedId: report.reportedId, reporterId: report.reporterId });
      for (const action of input.actions) {
        if (action === 'warn') {
          emit([report.reportedId], 'safety.warning', { reportId: report.id, reason: report.reason, message: input.message ?? null });
          await this.audit(tx, actor, 'user.warn', 'user', report.reportedId, { reportId: report.id, message: input.message ?? null });
        } else if (action === 'delete_message') {
          const msg = await repo.messageById(tx, report.messageId!);
          if (msg && (await this.d.messages.removeForEveryone(tx, emit, msg.conversationId, msg.seq))) {
            await this.audit(tx, actor, 'message.delete', 'message', msg.id, { reportId: report.id, conversationId: msg.conversationId, seq: msg.seq, senderId: msg.senderId });
          }
        } else if (action === 'block') {
          if (await chatRepo.setBlock(tx, report.reporterId, report.reportedId, true)) emit([report.reporterId], 'user.block.updated', { userId: report.reportedId, blocked: true });
          await this.audit(tx, actor, 'user.block', 'user', report.reportedId, { reportId: report.id, blockedFor: report.reporterId });
        } else if (action === 'suspend') {
          await this.putSuspension(tx, actor, { userId: report.reportedId, reason: input.message ?? report.reason, hours: input.suspendHours, reportId: report.id });
          suspended = report.reportedId;
        }
      }
      await this.d.webhooks?.enqueue(tx, 'report.resolved', {
        reportId: report.id, status, ...resolution, reporterId: report.reporterId, reportedId: report.reportedId,
        conversationId: report.conversationId, messageId: report.messageId, resolvedBy: actorId(actor), resolvedAt: now.toISOString(),
      });
    });
    if (suspended) this.announce(suspended, true);
    return this.getReport(input.reportId);
  }

  // ---- suspensions ----

  /** Suspends an account (admins, moderators, the server API): its tokens are refused and its sockets closed. */
  async suspend(actor: Actor, input: { userId: string; reason: string; hours?: number }): Promise<SuspensionDTO> {
    if (actor.kind === 'user' && actor.id === input.userId) throw new AppError('input.invalid', 'you cannot suspend yourself');
    if ((await chatRepo.ensureUsers(this.d.database.db, [input.userId])).length === 0) throw new AppError('user.not_found', 'no such user');
    await this.d.events.write((tx) => this.putSuspension(tx, actor, { ...input, reportId: null }));
    this.announce(input.userId, true);
    return suspensionDTO((await repo.suspension(this.d.database.db, input.userId))!);
  }

  /** Lifts a suspension (admins, the server API). Lifting one that is not in force changes nothing. */
  async lift(actor: Actor, userId: string): Promise<{ lifted: boolean }> {
    const lifted = await this.d.events.write(async (tx) => {
      const row = await repo.suspension(tx, userId);
      if (!row) return false;
      await repo.deleteSuspension(tx, userId);
      await this.audit(tx, actor, 'user.unsuspend', 'user', userId, { reason: row.reason, until: row.until?.toISOString() ?? null, suspendedBy: row.suspendedBy });
      await this.d.webhooks?.enqueue(tx, 'user.unsuspended', { userId, by: actorId(actor) });
      return true;
    });
    this.announce(userId, false);
    return { lifted };
  }

  async suspensions(): Promise<SuspensionDTO[]> {
    return (await repo.listSuspensions(this.d.database.db, this.d.clock.now())).map(suspensionDTO);
  }

  private async putSuspension(tx: Tx, actor: Actor, s: { userId: string; reason: string; hours?: number; reportId: number | null }): Promise<void> {
    const now = this.d.clock.now();
    const until = s.hours ? new Date(now.getTime() + s.hours * 3_600_000) : null;
    await repo.putSuspension(tx, { userId: s.userId, reason: s.reason, until, suspendedBy: actorId(actor), reportId: s.reportId, createdAt: now });
    await this.audit(tx, actor, 'user.suspend', 'user', s.userId, { reason: s.reason, until: until?.toISOString() ?? null, reportId: s.reportId });
    await this.d.webhooks?.enqueue(tx, 'user.suspended', { userId: s.userId, reason: s.reason, until: until?.toISOString() ?? null, reportId: s.reportId, by: actorId(actor) });
  }

  /** Refuses a suspended user's token (the auth guard, on every HTTP request and socket connect). */
  async assertNotSuspended(userId: string): Promise<void> {
    const now = this.d.clock.now();
    let hit = this.cache.get(userId);
    if (!hit || Date.now() - hit.at > CACHE_MS) {
      hit = { row: await repo.suspension(this.d.database.db, userId), at: Date.now() };
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(userId, hit);
    }
    if (suspensionActive(hit.row, now)) {
      throw new AppError('auth.suspended', 'this account is suspended', { until: hit.row!.until?.toISOString() ?? null });
    }
  }

  /**
   * Listens for suspensions from every instance and closes the suspended users' sockets here;
   * also re-checks connected users periodically, in case a bus message was lost.
   */
  start(local: { close(userId: string): void; userIds(): string[] }): void {
    this.stopControl = this.d.bus.subscribe(CONTROL_CHANNEL, (d) => {
      const data = (d.event as unknown as { data: { userId: string; suspended: boolean } }).data;
      this.cache.delete(data.userId);
      if (data.suspended) local.close(data.userId);
    });
    const sweep = async () => {
      const ids = [...new Set(local.userIds())];
      for (const u of await repo.suspendedAmong(this.d.database.db, ids, this.d.clock.now())) local.close(u);
    };
    this.sweepTimer = setInterval(() => void sweep().catch((err) => this.d.log.warn({ err: (err as Error).message }, 'suspension sweep failed')), SWEEP_MS);
    this.sweepTimer.unref();
  }

  stop(): void {
    this.stopControl?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  private announce(userId: string, suspended: boolean): void {
    this.cache.delete(userId);
    this.d.bus.publish([{ userId: CONTROL_CHANNEL, seq: null, event: { type: 'safety.control', data: { userId, suspended } } as never }]);
  }

  // ---- audit log ----

  /** Writes one audit entry (in the caller's transaction when given one). */
  async audit(ex: Executor, actor: Actor, action: string, targetType: string, targetId: string, details: Record<string, unknown> = {}): Promise<void> {
    await repo.insertAudit(ex, { actorId: actorId(actor), actorKind: actor.kind, action, targetType, targetId, details, createdAt: this.d.clock.now() });
  }

  async auditLog(q: Parameters<typeof repo.listAudit>[1]): Promise<AuditEntryDTO[]> {
    return (await repo.listAudit(this.d.database.db, q)).map((r) => ({
      id: r.id, actorId: r.actorId, actorKind: r.actorKind, action: r.action, targetType: r.targetType, targetId: r.targetId,
      details: (r.details ?? {}) as Record<string, unknown>, createdAt: r.createdAt.toISOString(),
    }));
  }

  /**
   * Audits a procedure call that changed someone else's data (tRPC middleware: server-API
   * mutations, admin actions). The change already committed: a failed audit write is logged, never
   * turned into an error the caller would retry.
   */
  async auditCall(actor: Actor, path: string, input: unknown): Promise<void> {
    // These write their own entries inside their transactions.
    if (path.startsWith('server.safety.') || path === 'server.upsertUser') return;
    const i = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
    const target = (['userId', 'chatId', 'conversationId', 'callId', 'id'] as const).find((k) => typeof i[k] === 'string');
    const [targetType, targetId] = target
      ? [target === 'id' ? 'id' : target.slice(0, -2), String(i[target])]
      : Array.isArray(i.userIds) ? ['users', i.userIds.join(',')] : ['none', ''];
    try {
      await this.audit(this.d.database.db, actor, path, targetType, targetId, { input: i });
    } catch (err) {
      this.d.log.error({ err: (err as Error).message, path }, 'audit log write failed');
    }
  }

  /** The host backend's user upsert, audited when it created the user or changed what was stored. */
  async upsertUserByServer(u: { id: string; name: string; avatarUrl: string | null; roles: string[] }): Promise<void> {
    const db = this.d.database.db;
    const [before] = await chatRepo.usersByIds(db, [u.id]);
    await this.d.conversations.upsertUser(u);
    const same = before && before.name === u.name && before.avatarUrl === u.avatarUrl && JSON.stringify(before.roles) === JSON.stringify(u.roles);
    if (!same) {
      await this.audit(db, { kind: 'server' }, before ? 'user.update' : 'user.create', 'user', u.id, {
        before: before ? { name: before.name, avatarUrl: before.avatarUrl, roles: before.roles } : null,
        after: { name: u.name, avatarUrl: u.avatarUrl, roles: u.roles },
      });
    }
  }

  private async reportDTOs(ex: Executor, list: ReportRow[]): Promise<ReportDTO[]> {
    if (list.length === 0) return [];
    const evidenceOf = (r: ReportRow) => (Array.isArray(r.evidence) ? (r.evidence as ReportDTO['evidence']) : []);
    const ids = new Set<string>();
    for (const r of list) {
      ids.add(r.reporterId);
      ids.add(r.reportedId);
      for (const m of evidenceOf(r)) if (m.senderId) ids.add(m.senderId);
    }
    const users = await chatRepo.usersByIds(ex, [...ids]);
    const suspended = new Set(await repo.suspendedAmong(ex, [...new Set(list.map((r) => r.reportedId))], this.d.clock.now()));
    const names = Object.fromEntries(users.map((u) => [u.id, { name: u.name }]));
    return list.map((r) => ({
      id: r.id,
      status: r.status,
      reason: r.reason,
      note: r.note,
      reporterId: r.reporterId,
      reportedId: r.reportedId,
      conversationId: r.conversationId,
      messageId: r.messageId,
      evidence: evidenceOf(r),
      resolution: (r.resolution as ReportDTO['resolution']) ?? null,
      resolvedBy: r.resolvedBy,
      resolvedAt: r.resolvedAt?.toISOString() ?? null,
      createdAt: r.createdAt.toISOString(),
      users: names,
      reportedSuspended: suspended.has(r.reportedId),
    }));
  }
}

function suspensionDTO(s: SuspensionRow): SuspensionDTO {
  return { userId: s.userId, reason: s.reason, until: s.until?.toISOString() ?? null, suspendedBy: s.suspendedBy, reportId: s.reportId, createdAt: s.createdAt.toISOString() };
}

