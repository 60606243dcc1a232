import { describe, expect, it } from 'vitest';
import { mayManageAccounts, retentionCutoffs, retentionEnabled } from './privacy.domain.ts';

const now = new Date('2026-06-01T00:00:00Z');
const days = (d: Date | null) => (d ? (now.getTime() - d.getTime()) / 86_400_000 : null);

describe('retention cutoffs', () => {
  it('keeps everything when nothing is set', () => {
    const policy = { messageDays: null, attachmentDays: null, callRecordingDays: null };
    expect(retentionEnabled(policy)).toBe(false);
    expect(retentionCutoffs(policy, now)).toEqual({ messages: null, attachments: null, recordings: null });
  });

  it('never keeps a file longer than its message: the attachment cutoff is at least the message cutoff', () => {
    const c = retentionCutoffs({ messageDays: 30, attachmentDays: 90, callRecordingDays: 7 }, now);
    expect([days(c.messages), days(c.attachments), days(c.recordings)]).toEqual([30, 30, 7]);
    expect(days(retentionCutoffs({ messageDays: 30, attachmentDays: null, callRecordingDays: null }, now).attachments)).toBe(30);
    expect(days(retentionCutoffs({ messageDays: 365, attachmentDays: 90, callRecordingDays: null }, now).attachments)).toBe(90);
  });
});

describe('who manages accounts', () => {
  it('is the host backend or an admin, never an ordinary user or operator', () => {
    expect(mayManageAccounts({ apiKey: true, roles: [] })).toBe(true);
    expect(mayManageAccounts({ apiKey: false, roles: ['admin'] })).toBe(true);
    expect(mayManageAccounts({ apiKey: false, roles: ['operator'] })).toBe(false);
    expect(mayManageAccounts({ apiKey: false, roles: [] })).toBe(false);
  });
});
