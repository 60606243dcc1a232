import { LIMITS, type ConversationContext } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';

/**
 * The key that makes a direct conversation unique: one per user pair and context
 * (a buyer and a seller get one conversation per listing, plus one without a listing).
 */
export function directKey(a: string, b: string, context?: ConversationContext | null): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  const ctx = context ? `${context.type}:${context.id}` : '';
  return JSON.stringify([x, y, ctx]);
}

/** Normalizes message text; rejects empty or over-long text with a typed error. */
export function normalizeText(text: string | undefined | null, required: boolean): string | null {
  if (text === undefined || text === null) {
    if (required) throw new AppError('chat.empty', 'the message is empty');
    return null;
  }
  const t = text.replace(/\r\n?/g, '\n').replace(/^\s+$/, '');
  if (t.trim().length === 0) {
    if (required) throw new AppError('chat.empty', 'the message is empty');
    return null;
  }
  // Length in code points, as users count characters (emoji are one).
  if ([...t].length > LIMITS.textMax) throw new AppError('chat.too_long', `a message holds at most ${LIMITS.textMax} characters`);
  return t;
}

export function assertCanEdit(
  msg: { senderId: string | null; createdAt: Date; deletedAt: Date | null; kind: string },
  userId: string,
  now: Date,
  editWindowMs: number,
): void {
  if (msg.deletedAt) throw new AppError('chat.deleted', 'the message was deleted');
  if (msg.senderId !== userId || msg.kind === 'system') throw new AppError('chat.not_author', 'only the author can edit a message');
  if (now.getTime() - msg.createdAt.getTime() > editWindowMs) throw new AppError('chat.edit_window_passed', 'the edit window has passed');
}

export function assertCanDeleteForEveryone(
  msg: { senderId: string | null; deletedAt: Date | null },
  userId: string,
  memberRole: 'owner' | 'admin' | 'member',
): void {
  if (msg.deletedAt) throw new AppError('chat.deleted', 'the message was already deleted');
  if (msg.senderId !== userId && memberRole === 'member') throw new AppError('chat.not_author', 'only the author or a group admin can delete a message for everyone');
}

/** Unread count (G4): the same numbers push badges use. */
export function unreadCount(lastSeq: number, lastReadSeq: number): number {
  return Math.max(0, lastSeq - lastReadSeq);
}
