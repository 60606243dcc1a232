import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.ts';
import { assertCanEdit, directKey, normalizeText, unreadCount } from './chat.domain.ts';

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as AppError).code;
  }
  return null;
};

describe('chat domain', () => {
  it('gives the same direct key whichever side opens, and a different one per listing', () => {
    const l = { type: 'listing' as const, id: '7', title: 't' };
    expect(directKey('a', 'b', l)).toBe(directKey('b', 'a', l));
    expect(directKey('a', 'b', l)).not.toBe(directKey('a', 'b'));
    expect(directKey('a', 'b', { ...l, id: '8' })).not.toBe(directKey('a', 'b', l));
    // Ids containing separators cannot collide.
    expect(directKey('a:b', 'c')).not.toBe(directKey('a', 'b:c'));
  });

  it('counts characters as users do (code points) and rejects empty or too long text', () => {
    expect(normalizeText('😀'.repeat(4000), true)).toHaveLength(8000);
    expect(codeOf(() => normalizeText('😀'.repeat(4001), true))).toBe('chat.too_long');
    expect(codeOf(() => normalizeText(' \n ', true))).toBe('chat.empty');
    expect(normalizeText('a\r\nb', true)).toBe('a\nb');
  });

  it('allows edits by the author within the window only', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const msg = { senderId: 'u', createdAt: created, deletedAt: null, kind: 'text' };
    expect(codeOf(() => assertCanEdit(msg, 'u', new Date(created.getTime() + 1000), 60_000))).toBeNull();
    expect(codeOf(() => assertCanEdit(msg, 'u', new Date(created.getTime() + 61_000), 60_000))).toBe('chat.edit_window_passed');
    expect(codeOf(() => assertCanEdit(msg, 'other', created, 60_000))).toBe('chat.not_author');
  });

  it('G4: unread is last_seq − last_read_seq, never negative', () => {
    expect(unreadCount(10, 7)).toBe(3);
    expect(unreadCount(3, 5)).toBe(0);
  });
});
