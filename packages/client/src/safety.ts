import type { AuditEntryDTO, ReportDTO, ReportStatus, ResolveAction, StreamEvent, SuspensionDTO } from '@sohbet/protocol';
import type { SohbetTRPC } from './connection.ts';

/** A moderator's warning about a report against the signed-in user (`safety.warning` event). */
export interface SafetyWarning {
  reportId: number;
  reason: string;
  message: string | null;
}

/**
 * Marketplace safety: report a user or a message; for tokens with the `moderator` or `admin` role,
 * the review queue, suspensions and (admins) the audit log. Failures reject with a SohbetError
 * (`chat.not_member`, `chat.message_not_found`, `safety.not_moderator`, `safety.report_closed`, …).
 */
export interface SafetyApi {
  /**
   * Reports a message (its sender is the reported user; the message and the ones around it are
   * copied as evidence), or a user with `userId` (the conversation's recent messages as evidence).
   */
  report(input: { conversationId?: string; messageId?: string; userId?: string; reason: 'spam' | 'scam' | 'abuse' | 'other'; note?: string }): Promise<{ reportId: number }>;
  /** Calls `fn` when a moderator warns this user; returns the function that stops listening. */
  onWarning(fn: (w: SafetyWarning) => void): () => void;
  /** Moderators and admins. */
  moderation: {
    reports(input?: { status?: ReportStatus; reportedId?: string; before?: number; limit?: number }): Promise<ReportDTO[]>;
    report(reportId: number): Promise<ReportDTO>;
    /** `['dismiss']`, or any of warn / delete_message / block / suspend together. */
    resolve(input: { reportId: number; actions: ResolveAction[]; note?: string; message?: string; suspendHours?: number }): Promise<ReportDTO>;
    suspend(input: { userId: string; reason: string; hours?: number }): Promise<SuspensionDTO>;
    suspensions(): Promise<SuspensionDTO[]>;
    /** Admins only. */
    lift(userId: string): Promise<{ lifted: boolean }>;
    /** Admins only: who changed whose data, newest first (page with `before` = the last id). */
    audit(input?: { actorId?: string; action?: string; targetType?: string; targetId?: string; before?: number; limit?: number }): Promise<AuditEntryDTO[]>;
  };
}

export function createSafetyApi(call: <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>, onEvent: (fn: (ev: StreamEvent) => void) => () => void): SafetyApi {
  return {
    report: (input) => call((t) => t.chat.report.mutate(input)),
    onWarning: (fn) => onEvent((ev) => ev.type === 'safety.warning' && fn(ev.data)),
    moderation: {
      reports: (input = {}) => call((t) => t.safety.reports.query({ limit: 50, ...input })),
      report: (reportId) => call((t) => t.safety.report.query({ reportId })),
      resolve: (input) => call((t) => t.safety.resolve.mutate(input)),
      suspend: (input) => call((t) => t.safety.suspend.mutate(input)),
      suspensions: () => call((t) => t.safety.suspensions.query()),
      lift: (userId) => call((t) => t.safety.lift.mutate({ userId })),
      audit: (input = {}) => call((t) => t.safety.audit.query({ limit: 50, ...input })),
    },
  };
}
