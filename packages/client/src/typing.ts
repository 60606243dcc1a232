/**
 * Who is typing where: each `chat.typing` event holds for its `expiresInMs`; a message from
 * the typist ends it early. Calls `onChange(conversationId)` whenever a list changes.
 */
export class TypingTracker {
  private readonly by = new Map<string, Map<string, number>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  /** `onChange` gets the id of each conversation whose list changed. */
  constructor(private readonly onChange: (conversationId: string) => void) {}

  /** `userId` typed in `conversationId`; it shows for `expiresInMs`. */
  typed(conversationId: string, userId: string, expiresInMs: number): void {
    let m = this.by.get(conversationId);
    if (!m) this.by.set(conversationId, (m = new Map()));
    const until = Date.now() + expiresInMs;
    m.set(userId, until);
    this.onChange(conversationId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (m.get(userId) === until) this.stopped(conversationId, userId);
    }, expiresInMs + 10);
    this.timers.add(timer);
  }

  /** `userId` stopped typing (e.g. their message arrived). */
  stopped(conversationId: string, userId: string): void {
    if (this.by.get(conversationId)?.delete(userId)) this.onChange(conversationId);
  }

  /** The users typing in `conversationId` now. */
  list(conversationId: string): string[] {
    const now = Date.now();
    return [...(this.by.get(conversationId) ?? [])].filter(([, until]) => until > now).map(([u]) => u);
  }

  /** Forgets everything and cancels the timers. */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const ids = [...this.by.keys()];
    this.by.clear();
    for (const id of ids) this.onChange(id);
  }
}
