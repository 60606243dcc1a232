/** Test support for the SDK suites: a real server (harness) and a controllable WebSocket. */
import WS from 'ws';
import { createClient } from '../src/client.ts';
import type { CreateClientOptions, SohbetClient } from '../src/api.ts';
import type { KeyValueStorage } from '../src/storage.ts';
import type { TestServer } from '../../server/test/harness.ts';

export { startTestServer, type TestServer } from '../../server/test/harness.ts';

/** A WebSocket class whose sockets a test can refuse (gate closed), kill, and inspect. */
export interface Net {
  WebSocket: typeof globalThis.WebSocket;
  /** While false, new sockets go to a closed port on 127.0.0.1 and fail to connect. */
  open: boolean;
  sockets: WS[];
  closes: Array<{ code: number; reason: string }>;
  /** Rewrites every outgoing frame (e.g. to fake another protocol version). */
  rewrite: ((data: string) => string) | null;
  /** Terminates every open socket (like a network drop: no close frame). */
  kill(): void;
}

export function net(): Net {
  const n: Net = {
    WebSocket: null as never,
    open: true,
    sockets: [],
    closes: [],
    rewrite: null,
    kill() {
      for (const s of n.sockets) if (s.readyState === WS.OPEN || s.readyState === WS.CONNECTING) s.terminate();
    },
  };
  class ControlledWS extends WS {
    constructor(url: string, protocols?: string | string[]) {
      super(n.open ? url : 'ws://127.0.0.1:1/ws', protocols);
      n.sockets.push(this);
      this.on('close', (code, reason) => n.closes.push({ code, reason: reason.toString() }));
      this.on('error', () => {});
    }
    override send(data: unknown, ...rest: unknown[]): void {
      const d = n.rewrite && typeof data === 'string' ? n.rewrite(data) : data;
      (super.send as (...a: unknown[]) => void)(d, ...rest);
    }
  }
  n.WebSocket = ControlledWS as unknown as typeof globalThis.WebSocket;
  return n;
}

/** An in-memory storage with async get/set, like AsyncStorage. */
export function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    get: async (k) => data.get(k) ?? null,
    set: async (k, v) => void data.set(k, v),
  };
}

/** A client for `userId` on the test server, reconnecting fast. */
export function clientFor(s: TestServer, userId: string, opts: Partial<CreateClientOptions> & { net?: Net } = {}): SohbetClient {
  const n = opts.net ?? net();
  return createClient({ url: s.url, token: () => s.token(userId), WebSocket: n.WebSocket, reconnectDelayMs: () => 30, ...opts });
}

/** Waits until `cond()` holds (polling), or fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records a client's events of one kind. */
export function record<T>(subscribe: (fn: (v: T) => void) => () => void): T[] {
  const out: T[] = [];
  subscribe((v) => out.push(v));
  return out;
}
