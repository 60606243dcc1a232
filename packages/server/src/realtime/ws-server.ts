import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** What a socket keeps of its upgrade request; the request itself (headers, buffers) is let go. */
export interface UpgradeInfo {
  /** The client's address (the left-most X-Forwarded-For entry behind a proxy, like Fastify's `trustProxy: true`). */
  ip: string;
  /** The request URL (path and query). */
  url: string;
}

/**
 * WebSocket upgrades on `path`, handled on the raw HTTP server. Going through a Fastify route
 * (as @fastify/websocket does) keeps a request, a reply, a fake ServerResponse and a child
 * logger alive for every socket's lifetime — about 2.5 KB per idle connection — for nothing a
 * socket uses after the handshake.
 */
export function attachWebSockets(
  server: Server,
  opts: { path: string; maxPayload: number; onConnection: (socket: WebSocket, info: UpgradeInfo) => void },
): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload, perMessageDeflate: false, clientTracking: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== opts.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const info: UpgradeInfo = { ip: clientIp(req), url };
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A protocol error (an oversized or malformed frame) closes the socket; it must never crash the process.
      ws.on('error', ignore);
      opts.onConnection(ws, info);
    });
  });
  return wss;
}

function ignore(): void {}

function clientIp(req: IncomingMessage): string {
  const xff = req.headers['x-forwarded-for'];
  const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
  return first || req.socket.remoteAddress || 'unknown';
}

const alive = Symbol('alive');
type Tracked = WebSocket & { [alive]?: boolean };

function onPong(this: Tracked): void {
  this[alive] = true;
}

/**
 * Dead-peer detection for many sockets with one timer: every `intervalMs` each socket gets a
 * WebSocket ping (browsers and React Native answer it without app code) and a socket that did
 * not answer the previous one is terminated. A per-socket timer re-armed on every message (what
 * tRPC's keepAlive does) costs two timers per connection and timer churn on every frame.
 */
export function trackLiveness(socket: WebSocket): void {
  (socket as Tracked)[alive] = true;
  socket.on('pong', onPong);
}

export function pingAll(sockets: Iterable<WebSocket>): number {
  let terminated = 0;
  for (const s of sockets as Iterable<Tracked>) {
    if (s.readyState !== s.OPEN) continue;
    if (s[alive] === false) {
      s.terminate();
      terminated++;
      continue;
    }
    s[alive] = false;
    s.ping();
  }
  return terminated;
}

const slot = Symbol('pingSlot');
type Slotted = WebSocket & { [slot]?: number };

/**
 * `pingAll` spread over the interval: the sockets are dealt round-robin into `slices` groups and
 * each `tick()` (every interval / slices) pings one group, so every socket is still pinged once
 * per interval (and terminated on its next turn if it did not answer). One round for all sockets
 * at once is one socket write each in a single turn of the event loop — with thousands of sockets
 * tens of milliseconds in which nothing else runs, and a burst of pongs right after.
 */
export class PingRounds {
  private readonly groups: Array<Set<WebSocket>>;
  private next = 0;
  private turn = 0;

  constructor(readonly slices: number) {
    this.groups = Array.from({ length: slices }, () => new Set<WebSocket>());
  }

  add(socket: WebSocket): void {
    const i = this.next;
    this.next = (this.next + 1) % this.slices;
    (socket as Slotted)[slot] = i;
    this.groups[i]!.add(socket);
  }

  delete(socket: WebSocket): void {
    const i = (socket as Slotted)[slot];
    if (i !== undefined) this.groups[i]!.delete(socket);
  }

  /** Pings the next group; returns how many of its sockets were terminated (silent since their last ping). */
  tick(): number {
    const group = this.groups[this.turn]!;
    this.turn = (this.turn + 1) % this.slices;
    return pingAll(group);
  }
}
