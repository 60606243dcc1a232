import { describe, expect, it } from 'vitest';
import { resolveReportInput } from '@sohbet/protocol';
import { assertActionsFit, isModerator, parseVerdict, statusAfter, suspensionActive } from './safety.domain.ts';

describe('safety rules', () => {
  it('accepts only allow, reject with a reason, or redact with a real message as a hook verdict', () => {
    expect(parseVerdict({ action: 'allow' })).toEqual({ action: 'allow' });
    expect(parseVerdict({ action: 'reject', reason: 'off_platform_payment' })).toEqual({ action: 'reject', reason: 'off_platform_payment' });
    expect(parseVerdict({ action: 'redact', text: 'call [hidden]' })).toEqual({ action: 'redact', text: 'call [hidden]' });
    for (const bad of [null, 'allow', {}, { action: 'maybe' }, { action: 'reject' }, { action: 'reject', reason: '  ' }, { action: 'redact' }, { action: 'redact', text: '   ' }, { action: 'redact', text: 'x'.repeat(4001) }]) {
      expect(parseVerdict(bad)).toBeNull();
    }
  });

  it('moderators are tokens with admin or moderator; operators are not', () => {
    expect(isModerator(['moderator'])).toBe(true);
    expect(isModerator(['operator', 'admin'])).toBe(true);
    expect(isModerator(['operator'])).toBe(false);
    expect(isModerator([])).toBe(false);
  });

  it('dismiss stands alone; other actions combine once each; delete needs a reported message', () => {
    expect(resolveReportInput.safeParse({ reportId: 1, actions: ['dismiss'] }).success).toBe(true);
    expect(resolveReportInput.safeParse({ reportId: 1, actions: ['delete_message', 'suspend'], suspendHours: 24 }).success).toBe(true);
    expect(resolveReportInput.safeParse({ reportId: 1, actions: ['dismiss', 'warn'] }).success).toBe(false);
    expect(resolveReportInput.safeParse({ reportId: 1, actions: ['warn', 'warn'] }).success).toBe(false);
    expect(resolveReportInput.safeParse({ reportId: 1, actions: ['warn'], suspendHours: 2 }).success).toBe(false);
    expect(resolveReportInput.safeParse({ reportId: 1, actions: [] }).success).toBe(false);
    expect(statusAfter(['dismiss'])).toBe('dismissed');
    expect(statusAfter(['warn', 'suspend'])).toBe('resolved');
    expect(() => assertActionsFit(['delete_message'], { messageId: null })).toThrow(/no message to delete/);
    expect(() => assertActionsFit(['delete_message'], { messageId: 'm_1' })).not.toThrow();
  });

  it('a suspension is in force until its end (none = until lifted)', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(suspensionActive(null, now)).toBe(false);
    expect(suspensionActive({ until: null }, now)).toBe(true);
    expect(suspensionActive({ until: new Date('2026-12-01T12:00:01Z') }, now)).toBe(true);
    expect(suspensionActive({ until: now }, now)).toBe(false);
  });
});
