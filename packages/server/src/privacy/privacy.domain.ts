/** Pure rules of the privacy feature (no IO). */

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  messageDays: number | null;
  attachmentDays: number | null;
  callRecordingDays: number | null;
}

/** The creation-time cutoffs of a retention run: anything created before is removed; null = keep. */
export function retentionCutoffs(policy: RetentionPolicy, now: Date): { messages: Date | null; attachments: Date | null; recordings: Date | null } {
  const before = (days: number | null) => (days === null ? null : new Date(now.getTime() - days * DAY_MS));
  // A message's files never outlive the message: the attachment cutoff is the later of the two.
  const messages = before(policy.messageDays);
  let attachments = before(policy.attachmentDays);
  if (messages && (!attachments || messages > attachments)) attachments = messages;
  return { messages, attachments, recordings: before(policy.callRecordingDays) };
}

export function retentionEnabled(policy: RetentionPolicy): boolean {
  return policy.messageDays !== null || policy.attachmentDays !== null || policy.callRecordingDays !== null;
}

/** Who may delete or export another user's account: the host backend (API key) or an `admin` token. */
export function mayManageAccounts(by: { apiKey: boolean; roles: readonly string[] }): boolean {
  return by.apiKey || by.roles.includes('admin');
}
