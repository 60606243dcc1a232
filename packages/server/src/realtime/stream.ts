import { tracked } from '@trpc/server';
import type { SincePage, StreamEvent } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import type { Database } from '../db/db.ts';
import type { Bus, Delivery } from './bus.ts';
import type { EventLog } from './event-log.ts';

const PAGE = 500;
/** Above this many bytes waiting in a socket's send buffer we stop writing to it. */
const SOCKET_HIGH_WATER = 1 << 20;
/**
 * Streams one socket may hold at once. The SDK opens one; each costs a bus subscription, a queue
 * and a log read, so without a cap one socket could open thousands (issue #9, bounded memory).
 */
export const MAX_STREAMS_PER_SOCKET = 8;

export interface StreamDeps {
  database: Database;
  bus: Bus;
  events: EventLog;
  maxQueue: number;
}

/**
 * A user's event stream (G3). It subscribes to the bus before reading the log, then yields
 * the log from the client's cursor, then live events; a seq gap in the live feed (a lost
 * publish, a bus reconnect) or a full queue (a slow client) is repaired from the log, so
 * memory per connection stays bounded and nothing is skipped or repeated.
 */
export class StreamService {
  constructor(private readonly d: StreamDeps) {}

  /** Open streams per socket (dropped with the socket). */
  private readonly perSocket = new WeakMap<object, number>();

  async *stream(userId: string, cursor: string | undefined, signal: AbortSignal | undefined, socket?: { bufferedAmount: number }) {
    const open = socket ? (this.perSocket.get(socket) ?? 0) : 0;
    if (open >= MAX_STREAMS_PER_SOCKET) throw new AppError('rate_limited', `at most ${MAX_STREAMS_PER_SOCKET} event streams per connection`);
    if (socket) this.perSocket.set(socket, open + 1);
    try {
      yield* this.open(userId, cursor, signal, socket);
    } finally {
      if (socket) this.perSocket.set(socket, (this.perSocket.get(socket) ?? 1) - 1);
    }
  }

  private async *open(userId: string, cursor: string | undefined, signal: AbortSignal | undefined, socket?: { bufferedAmount: number }) {
    const queue: Delivery[] = [];
    let overflow = false;
    let wake: (() => void) | null = null;
    const unsubscribe = this.d.bus.subscribe(
      userId,
      (d) => {
        if (queue.length >= this.d.maxQueue) {
          // Ephemeral events are dropped; durable ones are re-read from the log.
          if (d.seq !== null) overflow = true;
        } else queue.push(d);
        wake?.();
      },
      () => {
        // The bus may have lost deliveries: catch up from the log as after an overflow.
        overflow = true;
        wake?.();
      },
    );
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      await this.d.bus.ready();
      const start = await this.start(userId, cursor);
      let last = start.last;
      if (start.resync) yield tracked(String(last), start.resync);
      for await (const d of this.backfill(userId, last, Infinity)) {
        last = d.seq!;
        yield tracked(String(last), d.event);
      }
      yield tracked(String(last), { type: 'sync.ready', cursor: String(last), data: { cursor: String(last), userId } } as StreamEvent);
      while (!signal?.aborted) {
        if (overflow) {
          overflow = false;
          queue.length = 0;
          for await (const d of this.backfill(userId, last, Infinity)) {
            last = d.seq!;
            yield tracked(String(last), d.event);
          }
          continue;
        }
        const d = queue.shift();
        if (!d) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        while (socket && socket.bufferedAmount > SOCKET_HIGH_WATER && !signal?.aborted) await sleep(20);
        if (d.seq === null) {
          // Tracked with the current cursor: an untracked event would make tRPC's client forget its lastEventId.
          yield tracked(String(last), d.event);
          continue;
        }
        if (d.seq <= last) continue;
        if (d.seq > last + 1) {
          for await (const g of this.backfill(userId, last, d.seq - 1 - last)) {
            last = g.seq!;
            yield tracked(String(last), g.event);
          }
        }
        if (d.seq === last + 1) {
          last = d.seq;
          yield tracked(String(last), d.event);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** HTTP catch-up for clients that cannot hold a socket: the same cursor as the stream. */
  async since(userId: string, cursor: string | undefined, limit: number): Promise<SincePage> {
    const start = await this.start(userId, cursor);
    const out = await this.d.events.readAfter(this.d.database.db, userId, start.last, limit + 1);
    const hasMore = out.length > limit;
    const page = out.slice(0, limit);
    const events: StreamEvent[] = [...(start.resync ? [start.resync] : []), ...page.map((d) => d.event)];
    const next = page.length ? page[page.length - 1]!.seq! : start.last;
    return { events, cursor: String(next), hasMore, resync: start.resync !== null };
  }

  private async start(userId: string, cursor: string | undefined): Promise<{ last: number; resync: StreamEvent | null }> {
    const pos = (await this.d.events.position(this.d.database.db, userId)) ?? { head: 0, prunedSeq: 0 };
    if (cursor === undefined || cursor === null) return { last: pos.head, resync: null };
    const c = /^\d{1,15}$/.test(cursor) ? Number(cursor) : NaN;
    const resync = (reason: 'retention' | 'unknown_cursor') => ({
      last: pos.head,
      resync: { type: 'sync.resync', cursor: String(pos.head), data: { cursor: String(pos.head), reason } } as StreamEvent,
    });
    if (Number.isNaN(c) || c > pos.head) return resync('unknown_cursor');
    if (c < pos.prunedSeq) return resync('retention');
    return { last: c, resync: null };
  }

  private async *backfill(userId: string, after: number, max: number): AsyncGenerator<Delivery> {
    let last = after;
    let left = max;
    while (left > 0) {
      const want = Math.min(PAGE, left);
      const page = await this.d.events.readAfter(this.d.database.db, userId, last, want);
      for (const d of page) yield d;
      if (page.length < want) return; // reached the head of the log
      last = page[page.length - 1]!.seq!;
      left -= page.length;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
