import type { ListingContext, MessageDTO } from '@sohbet/protocol';
import { SohbetError, toSohbetError, type SohbetErrorCode } from './errors.ts';
import type { PersistedValue } from './storage.ts';
import { backoffDelayMs } from './connection.ts';

/** What `client.chat.send` takes. Without `clientId` the SDK picks one (G2). */
export interface SendOptions {
  conversationId: string;
  text?: string;
  /** A listing card to share. */
  payload?: ListingContext;
  /** The seq of the message this one replies to. */
  replyToSeq?: number;
  /** Forward an existing message (its text/card is copied by the server). */
  forward?: { conversationId: string; seq: number };
  /** Finished uploads (`client.media.upload`) to send; `text` becomes their caption. */
  attachmentIds?: string[];
  /** Your id for this message (8–64 of `A-Z a-z 0-9 _ -`); resending it never duplicates (G2). */
  clientId?: string;
}

/** A message waiting in the offline outbox. It leaves the outbox once the server stored it. */
export interface OutboxItem {
  clientId: string;
  conversationId: string;
  text?: string;
  payload?: ListingContext;
  replyToSeq?: number;
  forward?: { conversationId: string; seq: number };
  attachmentIds?: string[];
  /** `pending`: waits for a connection; `sending`: on the wire; `failed`: the server refused it (see `error`). */
  state: 'pending' | 'sending' | 'failed';
  /** The server's refusal code (`chat.blocked`, `chat.too_long`, …) when `state` is `failed`. */
  error?: SohbetErrorCode;
  /** When it was queued (ISO 8601). */
  createdAt: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** A random 21-character message id from `A-Z a-z 0-9 _ -` (~126 bits when crypto is available). */
export function newClientId(): string {
  const bytes = new Uint8Array(21);
  const c = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let id = '';
  for (const b of bytes) id += ALPHABET[b & 63];
  return id;
}

interface Waiter {
  resolve(m: MessageDTO): void;
  reject(e: SohbetError): void;
}

/** What the outbox needs from its client. */
export interface OutboxDeps {
  store: PersistedValue;
  send(item: OutboxItem): Promise<MessageDTO>;
  isConnected(): boolean;
  onChange(items: readonly OutboxItem[]): void;
  onSent(message: MessageDTO): void;
}

/**
 * The offline outbox (G2): messages are queued (and persisted), sent one at a time in order
 * while connected, kept on network errors and re-sent after reconnecting with the same clientId
 * — the server returns the stored message for a clientId it has seen, so an unknown outcome is
 * safe to retry. A typed refusal marks the item `failed` until `retry()` or `discard()`.
 */
export class Outbox {
  /** Queued items in send order (replaced, never mutated, on each change). */
  items: readonly OutboxItem[] = [];
  private readonly waiters = new Map<string, Waiter[]>();
  private flushing = false;
  private again = false;
  private restoredFlag = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private transientFailures = 0;
  /** Resolves once the items stored by a previous run are loaded. */
  readonly restored: Promise<void>;

  /** Starts restoring the items stored by a previous run. */
  constructor(private readonly d: OutboxDeps) {
    this.restored = this.restore();
  }

  private async restore(): Promise<void> {
    const raw = await this.d.store.load();
    let stored: OutboxItem[] = [];
    try {
      stored = raw ? (JSON.parse(raw) as OutboxItem[]) : [];
    } catch {
      stored = [];
    }
    const known = new Set(this.items.map((i) => i.clientId));
    // An item that was on the wire when the app stopped has an unknown outcome: resend it (G2).
    const old = stored.filter((i) => i && typeof i.clientId === 'string' && !known.has(i.clientId)).map((i) => ({ ...i, state: i.state === 'sending' ? ('pending' as const) : i.state }));
    this.restoredFlag = true;
    this.set([...old, ...this.items]);
  }

  /** Queues a message; resolves with the stored message, rejects with the server's refusal. */
  enqueue(input: SendOptions & { clientId: string }): Promise<MessageDTO> {
    const existing = this.items.find((i) => i.clientId === input.clientId);
    if (!existing) {
      const item: OutboxItem = { ...input, state: 'pending', createdAt: new Date().toISOString() };
      for (const k of Object.keys(item) as Array<keyof OutboxItem>) if (item[k] === undefined) delete item[k];
      this.set([...this.items, item]);
    }
    const p = this.wait(input.clientId);
    void this.flush();
    return p;
  }

  /** Puts a failed item back in the queue; resolves like `send`. */
  retry(clientId: string): Promise<MessageDTO> {
    const item = this.items.find((i) => i.clientId === clientId);
    if (!item) return Promise.reject(new SohbetError('client.discarded', 'no such outbox item'));
    if (item.state === 'failed') this.update(clientId, { state: 'pending', error: undefined });
    const p = this.wait(clientId);
    void this.flush();
    return p;
  }

  /** Removes an item that is not on the wire; its `send` promise rejects with `client.discarded`. */
  discard(clientId: string): boolean {
    const item = this.items.find((i) => i.clientId === clientId);
    if (!item || item.state === 'sending') return false;
    this.set(this.items.filter((i) => i.clientId !== clientId));
    this.settle(clientId, (w) => w.reject(new SohbetError('client.discarded', 'the message was discarded before it was sent')));
    return true;
  }

  /** Sends pending items in order while connected. Safe to call any time. */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      await this.restored;
      do {
        this.again = false;
        while (this.d.isConnected()) {
          const item = this.items.find((i) => i.state === 'pending');
          if (!item) break;
          if (!(await this.sendOne(item))) return;
        }
      } while (this.again);
    } finally {
      this.flushing = false;
    }
  }

  /** Sends one item; false when the queue should stop (a transient failure, to keep the order). */
  private async sendOne(item: OutboxItem): Promise<boolean> {
    this.update(item.clientId, { state: 'sending', error: undefined });
    try {
      const message = await this.d.send(item);
      this.transientFailures = 0;
      this.d.onSent(message);
      this.set(this.items.filter((i) => i.clientId !== item.clientId));
      this.settle(item.clientId, (w) => w.resolve(message));
      return true;
    } catch (err) {
      const e = toSohbetError(err);
      if (e.isRefusal) {
        this.update(item.clientId, { state: 'failed', error: e.code });
        this.settle(item.clientId, (w) => w.reject(e));
        return true;
      }
      // Unknown outcome (socket dropped) or a passing server problem: keep it and try again later.
      this.update(item.clientId, { state: 'pending' });
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.flush();
      }, backoffDelayMs(++this.transientFailures) + 200);
      return false;
    }
  }

  private wait(clientId: string): Promise<MessageDTO> {
    const p = new Promise<MessageDTO>((resolve, reject) => {
      const list = this.waiters.get(clientId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(clientId, list);
    });
    // The item's state carries the outcome too, so a caller that ignores the promise
    // (`void chat.send(...)`) does not get an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  private settle(clientId: string, f: (w: Waiter) => void): void {
    const list = this.waiters.get(clientId);
    this.waiters.delete(clientId);
    for (const w of list ?? []) f(w);
  }

  private update(clientId: string, patch: Partial<OutboxItem>): void {
    this.set(this.items.map((i) => {
      if (i.clientId !== clientId) return i;
      const next = { ...i, ...patch };
      if (next.error === undefined) delete next.error;
      return next;
    }));
  }

  private set(items: OutboxItem[]): void {
    this.items = items;
    // Never overwrite the stored queue before it was read.
    if (this.restoredFlag) void this.d.store.save(JSON.stringify(items));
    this.d.onChange(items);
  }

  /** Stops the retry timer (on disconnect). */
  dispose(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
