/** A minimal tRPC WebSocket client for server tests (the SDK has its own tests). */
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import WebSocket from 'ws';
import type { StreamEvent } from '@sohbet/protocol';
import type { AppRouter } from '../src/router.ts';

export interface TestSocket {
  trpc: TRPCClient<AppRouter>;
  events: StreamEvent[];
  cursor: string | undefined;
  closes: Array<{ code: number; reason: string }>;
  waitFor(pred: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the stream is live (the server sent sync.ready). */
  ready(): Promise<StreamEvent>;
  close(): Promise<void>;
  raw(): WebSocket | null;
}

export function connectSocket(wsUrl: string, token: string | (() => string | Promise<string>), opts: { lastEventId?: string; v?: number } = {}): TestSocket {
  const events: StreamEvent[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  let rawSocket: WebSocket | null = null;
  class TrackedWS extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      rawSocket = this;
      this.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    }
  }
  const ws = createWSClient({
    url: wsUrl,
    WebSocket: TrackedWS as unknown as typeof globalThis.WebSocket,
    connectionParams: async () => ({ token: typeof token === 'function' ? await token() : token, ...(opts.v !== undefined ? { v: String(opts.v) } : {}) }),
    retryDelayMs: () => 100,
  });
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
  const state = { cursor: opts.lastEventId as string | undefined };
  const waiters = new Set<{ pred: (e: StreamEvent) => boolean; resolve: (e: StreamEvent) => void }>();
  const sub = trpc.sync.events.subscribe(opts.lastEventId ? { lastEventId: opts.lastEventId } : undefined, {
    onData(d: unknown) {
      const ev = ('type' in (d as object) ? d : (d as { data: StreamEvent }).data) as StreamEvent;
      if (ev.cursor) state.cursor = ev.cursor;
      events.push(ev);
      for (const w of waiters) if (w.pred(ev)) (waiters.delete(w), w.resolve(ev));
    },
    onError() {},
  });
  return {
    trpc,
    events,
    get cursor() {
      return state.cursor;
    },
    closes,
    waitFor(pred, timeoutMs = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.add(w);
        setTimeout(() => (waiters.delete(w), reject(new Error('timed out waiting for event'))), timeoutMs);
      });
    },
    ready() {
      return this.waitFor((e) => e.type === 'sync.ready');
    },
    async close() {
      sub.unsubscribe();
      await ws.close();
    },
    raw: () => rawSocket,
  };
}
