import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import { CLOSE_CODES, DURABLE_EVENT_TYPES, PROTOCOL_VERSION, type StreamEvent } from '@sohbet/protocol';
import type { AppRouter } from '@sohbet/server/router';
import { SohbetError, toSohbetError } from './errors.ts';
import type { ClientStatus } from './events.ts';
import type { PersistedValue } from './storage.ts';

/** The typed tRPC client the SDK talks through. */
export type SohbetTRPC = TRPCClient<AppRouter>;

/** What a {@link Connection} needs from the client that owns it. */
export interface ConnectionOptions {
  url: string;
  token: () => Promise<string> | string;
  WebSocket?: typeof globalThis.WebSocket;
  reconnectDelayMs?: (attempt: number) => number;
  cursorStore: PersistedValue;
  onEvent(ev: StreamEvent): void;
  onStatus(status: ClientStatus): void;
}

const DURABLE = new Set<string>(DURABLE_EVENT_TYPES);

/**
 * Jittered exponential backoff, capped at ~10 s: 0–300 ms for the first retry (a dropped socket
 * usually comes straight back), then 0.5–1 × 500 ms·2ⁿ, so many clients never retry in lockstep.
 */
export function backoffDelayMs(attempt: number): number {
  if (attempt <= 0) return Math.random() * 300;
  return Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** `http(s)://host[/base]` → `ws(s)://host[/base]/ws`; a `ws(s)://…` URL is kept (with `/ws` added if missing). */
export function socketUrl(url: string): string {
  const u = url.replace(/\/+$/, '');
  if (/^wss?:\/\//i.test(u)) return /\/ws$/.test(u) ? u : `${u}/ws`;
  return `${u.replace(/^http(s?):\/\//i, 'ws$1://')}/ws`;
}

/**
 * The one WebSocket of a client and its event stream (G3). It tracks the status, the durable
 * cursor (persisted), and re-subscribes with that cursor after every drop.
 *
 * Why it re-subscribes itself instead of letting tRPC resume: tRPC's wsLink remembers the id of
 * the *last* event it delivered, and an ephemeral event (typing, presence) has no id, which resets
 * it — a reconnect right after one would resume from the first cursor, or from "now".
 */
export class Connection {
  /** Current status (see {@link ClientStatus}). */
  status: ClientStatus = 'idle';
  /** Last durable cursor seen (or the server head announced by sync.ready / sync.resync). */
  cursor: string | undefined;
  /** The typed tRPC client over the socket; null before `start()` and after `stop()`. */
  trpc: SohbetTRPC | null = null;
  /** Why the status is `unauthenticated` or `closed` (null otherwise). */
  error: SohbetError | null = null;
  private ws: ReturnType<typeof createWSClient> | null = null;
  private sub: { unsubscribe(): void } | null = null;
  private generation = 0;
  private failures = 0;
  private everConnected = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** After a 4429 (too many connects) the next attempt waits at least until then. */
  private notBefore = 0;

  /** Nothing opens until `start()`. */
  constructor(private readonly o: ConnectionOptions) {}

  /** Opens the socket and subscribes to `sync.events` from the current cursor. */
  start(): void {
    if (this.ws) return;
    this.everConnected = false;
    this.failures = 0;
    const delay = this.o.reconnectDelayMs ?? backoffDelayMs;
    const ws = createWSClient({
      url: socketUrl(this.o.url),
      WebSocket: this.o.WebSocket,
      connectionParams: async () => ({ token: await this.o.token(), v: String(PROTOCOL_VERSION) }),
      // Our own counter: tRPC resets its attempt index whenever a socket opens, but a socket
      // rejected with 4401 opens first, which would make it retry without any backoff.
      retryDelayMs: () => Math.max(delay(this.failures++), this.notBefore - Date.now()),
      keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
      onClose: (cause) => this.onClose(ws, cause as { code?: number; reason?: string } | undefined),
    });
    this.ws = ws;
    this.trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
    this.setStatus('connecting', null);
    this.subscribe();
  }

  /** Closes the socket; pending calls fail with `client.network`, the subscription ends. */
  stop(status: ClientStatus = 'closed', error: SohbetError | null = null): void {
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.sub?.unsubscribe();
    this.sub = null;
    const ws = this.ws;
    this.ws = null;
    void ws?.close().catch(() => {});
    this.setStatus(status, error);
  }

  private setStatus(status: ClientStatus, error: SohbetError | null): void {
    this.error = error;
    if (status === this.status) return;
    this.status = status;
    this.o.onStatus(status);
  }

  private subscribe(): void {
    const gen = ++this.generation;
    this.sub?.unsubscribe();
    if (!this.trpc) return;
    const input = this.cursor !== undefined ? { lastEventId: this.cursor } : undefined;
    this.sub = this.trpc.sync.events.subscribe(input, {
      onStarted: () => {
        if (gen !== this.generation) return;
        this.failures = 0;
        this.everConnected = true;
        this.setStatus('connected', null);
      },
      onData: (d: unknown) => {
        if (gen === this.generation) this.receive(d);
      },
      onError: (err: unknown) => {
        if (gen !== this.generation) return;
        // The server refused the subscription itself; a bad stored cursor is dropped.
        if (toSohbetError(err).code === 'input.invalid') this.cursor = undefined;
        this.retryTimer = setTimeout(() => gen === this.generation && this.subscribe(), backoffDelayMs(this.failures++));
      },
    });
  }

  private onClose(ws: ReturnType<typeof createWSClient>, cause: { code?: number; reason?: string } | undefined): void {
    if (ws !== this.ws) return;
    const code = cause?.code;
    if (code === CLOSE_CODES.unsupportedProtocol) {
      this.stop('closed', new SohbetError('protocol.unsupported_version', 'the server does not speak this SDK protocol version; update the app'));
      return;
    }
    if (code === CLOSE_CODES.rateLimited) {
      const ms = Number(/^rate_limited:(\d+)$/.exec(cause?.reason ?? '')?.[1] ?? 0);
      this.notBefore = Date.now() + Math.min(ms, 10 * 60_000);
    }
    if (code === CLOSE_CODES.unauthenticated && cause?.reason === 'auth.account_deleted') {
      // The account is gone for good: no token will ever be accepted again, so stop reconnecting.
      this.stop('closed', new SohbetError('auth.account_deleted', 'this account was deleted'));
      return;
    }
    if (code === CLOSE_CODES.unauthenticated) {
      const reason = cause?.reason;
      const authCode = reason === 'auth.expired' || reason === 'auth.missing' ? reason : 'auth.invalid';
      this.setStatus('unauthenticated', new SohbetError(authCode, 'the server refused the token; retrying with a fresh one'));
    } else if (code === CLOSE_CODES.forbidden && cause?.reason === 'auth.suspended') {
      // Suspended by a moderator: keep retrying (with backoff) so the client comes back once it is lifted.
      this.setStatus('unauthenticated', new SohbetError('auth.suspended', 'this account is suspended'));
    } else this.setStatus(this.everConnected ? 'reconnecting' : 'connecting', null);
    // Drop the subscription now (so tRPC does not re-send it with a stale lastEventId) and
    // queue a fresh one from our cursor; deferred so tRPC's own reconnect starts first.
    this.generation++;
    this.sub?.unsubscribe();
    this.sub = null;
    setTimeout(() => {
      if (this.ws === ws && !this.sub) this.subscribe();
    }, 0);
  }

  private receive(d: unknown): void {
    const ev = (d && typeof d === 'object' && 'type' in d ? d : (d as { data: StreamEvent }).data) as StreamEvent;
    if (ev && typeof ev === 'object') this.ingest(ev);
  }

  /** Takes one event (from the socket or the HTTP catch-up): advances the cursor, drops repeats. */
  ingest(ev: StreamEvent): void {
    if (ev.type === 'sync.resync' || ev.type === 'sync.ready') {
      this.setCursor(ev.data.cursor);
    } else if (DURABLE.has(ev.type) && ev.cursor !== undefined) {
      // Cursors rise by one per durable event per user; anything at or below ours was seen.
      if (this.cursor !== undefined && Number(ev.cursor) <= Number(this.cursor)) return;
      this.setCursor(ev.cursor);
    }
    this.o.onEvent(ev);
  }

  private setCursor(cursor: string): void {
    if (cursor === this.cursor) return;
    this.cursor = cursor;
    void this.o.cursorStore.save(cursor);
  }
}
