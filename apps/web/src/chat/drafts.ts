/** Unsent text per conversation, kept in localStorage so it survives reloads. */
const key = (userId: string, conversationId: string) => `sohbet.draft.${userId}.${conversationId}`;

export function loadDraft(userId: string, conversationId: string): string {
  try {
    return localStorage.getItem(key(userId, conversationId)) ?? '';
  } catch {
    return '';
  }
}

export function saveDraft(userId: string, conversationId: string, text: string): void {
  try {
    if (text.trim()) localStorage.setItem(key(userId, conversationId), text);
    else localStorage.removeItem(key(userId, conversationId));
  } catch {
    // Storage full or disabled: drafts are a convenience.
  }
}
