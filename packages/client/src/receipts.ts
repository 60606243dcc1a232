/**
 * Delivered receipts: when messages from others arrive, tell the server "delivered up to seq"
 * once per conversation per burst (debounced), never for a seq already reported.
 */
export class DeliveredReceipts {
  private due: Array<{ conversationId: string; seq: number; senderId: string | null }> = [];
  private readonly reported = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `delayMs` is the debounce window (default 150 ms). */
  constructor(
    private readonly d: {
      /** Resolves the signed-in user's id, so one's own messages are skipped. */
      me(): Promise<string>;
      markDelivered(conversationId: string, seq: number): Promise<void>;
      delayMs?: number;
    },
  ) {}

  /** Notes that `seq` of `conversationId` (sent by `senderId`) reached this device. */
  note(conversationId: string, seq: number, senderId: string | null): void {
    if (seq <= (this.reported.get(conversationId) ?? 0)) return;
    this.due.push({ conversationId, seq, senderId });
    this.timer ??= setTimeout(() => void this.flush(), this.d.delayMs ?? 150);
  }

  private async flush(): Promise<void> {
    const due = this.due;
    this.due = [];
    this.timer = null;
    let me: string;
    try {
      me = await this.d.me();
    } catch {
      this.due.unshift(...due);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.flush(), 2000);
      return;
    }
    const max = new Map<string, number>();
    for (const r of due) if (r.senderId !== me) max.set(r.conversationId, Math.max(max.get(r.conversationId) ?? 0, r.seq));
    for (const [conversationId, seq] of max) {
      if (seq <= (this.reported.get(conversationId) ?? 0)) continue;
      this.reported.set(conversationId, seq);
      this.d.markDelivered(conversationId, seq).catch(() => {
        // Lost with the socket: forget it so the next message reports again.
        if (this.reported.get(conversationId) === seq) this.reported.delete(conversationId);
      });
    }
  }

  /** Drops queued receipts (on disconnect). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due = [];
  }
}
