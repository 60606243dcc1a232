import { z } from 'zod';
import { conversationId, reportReason, userId, type MessageDTO } from './chat.ts';

/** Roles (token `roles` claim) that may review reports; `admin` may also lift suspensions and read the audit log. */
export const MODERATOR_ROLES = ['admin', 'moderator'] as const;

/** How many messages before and after a reported message are copied as evidence. */
export const REPORT_CONTEXT_MESSAGES = 10;

/**
 * `chat.report`: report a user, or one message (`messageId`) — then the user is its sender and
 * the evidence is that message plus the messages around it.
 */
export const chatReportInput = z
  .object({
    userId: userId.optional(),
    conversationId: conversationId.optional(),
    messageId: z.string().min(1).max(128).optional(),
    reason: reportReason,
    note: z.string().trim().max(1000).optional(),
  })
  .refine((v) => v.userId || v.messageId, { message: 'report a user (userId) or a message (messageId)' })
  .refine((v) => !v.messageId || v.conversationId, { message: 'a reported message needs its conversationId' });
export type ChatReportInput = z.infer<typeof chatReportInput>;

export const reportStatus = z.enum(['open', 'resolved', 'dismissed']);
export type ReportStatus = z.infer<typeof reportStatus>;

export const listReportsInput = z
  .object({
    status: reportStatus.optional(),
    reportedId: userId.optional(),
    /** Reports with a smaller id than this (paging, newest first). */
    before: z.number().int().positive().optional(),
    limit: z.number().int().min(1).max(100).default(50),
  })
  .default({ limit: 50 });

export const reportRef = z.object({ reportId: z.number().int().positive() });

/**
 * What a moderator does with a report. `dismiss` stands alone; the others combine
 * (e.g. `['delete_message', 'suspend']`).
 * - `warn`: the reported user gets a `safety.warning` event with `message`;
 * - `delete_message`: the reported message is deleted for everyone;
 * - `block`: the reporter blocks the reported user (as if they had pressed Block);
 * - `suspend`: the reported user's tokens are refused (`auth.suspended`) and their sockets closed,
 *   for `suspendHours` or until an admin lifts it.
 */
export const resolveAction = z.enum(['dismiss', 'warn', 'delete_message', 'block', 'suspend']);
export type ResolveAction = z.infer<typeof resolveAction>;
export const resolveReportInput = z
  .object({
    reportId: z.number().int().positive(),
    actions: z.array(resolveAction).min(1).max(4),
    /** Internal note for other moderators (and the audit log). */
    note: z.string().trim().max(1000).optional(),
    /** Shown to the reported user with `warn` (and as the suspension reason). */
    message: z.string().trim().min(1).max(1000).optional(),
    suspendHours: z.number().int().min(1).max(24 * 365 * 10).optional(),
  })
  .refine((v) => new Set(v.actions).size === v.actions.length, { message: 'each action once' })
  .refine((v) => !v.actions.includes('dismiss') || v.actions.length === 1, { message: 'dismiss cannot be combined with other actions' })
  .refine((v) => v.suspendHours === undefined || v.actions.includes('suspend'), { message: 'suspendHours goes with the suspend action' });
export type ResolveReportInput = z.infer<typeof resolveReportInput>;

export const suspendInput = z.object({
  userId,
  reason: z.string().trim().min(1).max(1000),
  hours: z.number().int().min(1).max(24 * 365 * 10).optional(),
});
export const liftInput = z.object({ userId });

export const auditListInput = z
  .object({
    actorId: z.string().min(1).max(128).optional(),
    action: z.string().min(1).max(64).optional(),
    targetType: z.string().min(1).max(32).optional(),
    targetId: z.string().min(1).max(128).optional(),
    /** Entries with a smaller id than this (paging, newest first). */
    before: z.number().int().positive().optional(),
    limit: z.number().int().min(1).max(200).default(50),
  })
  .default({ limit: 50 });

export interface ReportDTO {
  id: number;
  status: ReportStatus;
  reason: string;
  note: string | null;
  reporterId: string;
  reportedId: string;
  conversationId: string | null;
  /** The reported message, when a message (not only a user) was reported. */
  messageId: string | null;
  /** Copies taken at report time: later edits or deletions do not change them. */
  evidence: MessageDTO[];
  resolution: { actions: ResolveAction[]; note: string | null; message: string | null; suspendHours: number | null } | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
  /** Names for the ids above (reporter, reported user, evidence senders). */
  users: Record<string, { name: string }>;
  /** Whether the reported user is suspended right now. */
  reportedSuspended: boolean;
}

export interface SuspensionDTO {
  userId: string;
  reason: string;
  until: string | null;
  suspendedBy: string;
  reportId: number | null;
  createdAt: string;
}

export interface AuditEntryDTO {
  id: number;
  actorId: string;
  actorKind: 'user' | 'server';
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
  createdAt: string;
}

/** What the pre-send hook (PRESEND_HOOK_URL) may answer. */
export type PreSendVerdict = { action: 'allow' } | { action: 'reject'; reason: string } | { action: 'redact'; text: string };
