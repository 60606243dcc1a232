import { z } from 'zod';
import { LIMITS, MODERATOR_ROLES, type PreSendVerdict, type ResolveAction } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';

/** Who may review reports: token roles `admin` or `moderator`. */
export function isModerator(roles: readonly string[]): boolean {
  return roles.some((r) => (MODERATOR_ROLES as readonly string[]).includes(r));
}

export function assertModerator(roles: readonly string[]): void {
  if (!isModerator(roles)) throw new AppError('safety.not_moderator', 'this needs the admin or moderator role');
}

/** Lifting suspensions and reading the audit log are for admins only. */
export function assertAdmin(roles: readonly string[]): void {
  if (!roles.includes('admin')) throw new AppError('safety.not_moderator', 'this needs the admin role');
}

const verdictSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('allow') }),
  z.object({ action: z.literal('reject'), reason: z.string().trim().min(1).max(500) }),
  // The replacement must still be a message: non-empty and within the text limit.
  z.object({ action: z.literal('redact'), text: z.string().refine((t) => t.trim().length > 0 && [...t].length <= LIMITS.textMax) }),
]);

/** The pre-send hook's answer, or null when it is none of allow / reject / redact. */
export function parseVerdict(json: unknown): PreSendVerdict | null {
  const r = verdictSchema.safeParse(json);
  return r.success ? r.data : null;
}

/** The report's status after a decision. */
export function statusAfter(actions: readonly ResolveAction[]): 'dismissed' | 'resolved' {
  return actions.includes('dismiss') ? 'dismissed' : 'resolved';
}

/** The actions a report can take: deleting needs a reported message, blocking needs a reporter who is a user. */
export function assertActionsFit(actions: readonly ResolveAction[], report: { messageId: string | null }): void {
  if (actions.includes('delete_message') && !report.messageId) throw new AppError('input.invalid', 'this report is about a user, not a message: there is no message to delete');
}

/** A suspension is in force when it has no end or its end is still ahead. */
export function suspensionActive(s: { until: Date | null } | null | undefined, now: Date): boolean {
  return Boolean(s) && (s!.until === null || s!.until.getTime() > now.getTime());
}
