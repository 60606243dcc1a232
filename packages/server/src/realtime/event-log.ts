import type { DurableEventMap, DurableEventType, StreamEvent } from '@sohbet/protocol';
import type { SQL } from 'drizzle-orm';
import { pgIntArray, pgTextArray, rows, sql, type Database, type Executor, type Tx } from '../db/db.ts';
import type { Bus, Delivery } from './bus.ts';
import { payloadJson } from './frame-encoder.ts';

export type Emit = <K extends DurableEventType>(userIds: readonly string[], type: K, data: DurableEventMap[K]) => void;

interface Pending {
  userIds: readonly string[];
  event: StreamEvent;
}

/**
 * Writes durable events into each recipient's log inside the caller's transaction and
 * publishes them on the bus only after commit (G3). Seqs come from users.event_seq, locked in
 * user-id order at the end of the transaction, so concurrent writers never deadlock and a
 * user's events commit in seq order.
 */
/**
 * Turns stored events into more durable work (notification outbox rows) in the SAME transaction,
 * so an event and what it causes commit or roll back together. Observers must not publish or call
 * out; a throw rolls the whole write back.
 */
export interface EventObserver {
  /**
   * What the observer needs to read for these events (a scalar subquery returning one json
   * value), run inside the append statement itself: one round trip less per durable write. It
   * reads the statement's snapshot, the same a separate read right after the append would see under
   * READ COMMITTED, except rows committed by others while the append waited on a user's lock.
   */
  read?(events: readonly Addressed[]): SQL | null;
  /** `read`'s result (parsed json; null without a read). */
  run(tx: Tx, deliveries: readonly Delivery[], read: unknown): Promise<void>;
}

/** An event and one of its recipients, before it has a seq. */
export interface Addressed {
  userId: string;
  event: StreamEvent;
}

export class EventLog {
  private readonly observers: EventObserver[] = [];

  constructor(
    private readonly database: Database,
    private readonly bus: Bus,
  ) {}

  /** Registers an observer of every durable write (see EventObserver). Wired once at startup. */
  observe(observer: EventObserver): void {
    this.observers.push(observer);
  }

  /** Runs `fn` in a transaction; events it emits are stored with it and published after commit. */
  async write<T>(fn: (tx: Tx, emit: Emit) => Promise<T>): Promise<T> {
    let deliveries: Delivery[] = [];
    const result = await this.database.db.transaction(async (tx) => {
      const pending: Pending[] = [];
      const emit: Emit = (userIds, type, data) => {
        if (userIds.length) pending.push({ userIds, event: { type, data } as StreamEvent });
      };
      const r = await fn(tx, emit);
      const appended = await this.append(tx, pending);
      deliveries = appended.deliveries;
      if (deliveries.length) for (let i = 0; i < this.observers.length; i++) await this.observers[i]!.run(tx, deliveries, appended.reads[i] ?? null);
      return r;
    });
    this.bus.publish(deliveries);
    return result;
  }

  /** Publishes ephemeral events (typing, presence): never stored, no cursor. */
  publishEphemeral(userIds: readonly string[], event: StreamEvent): void {
    this.bus.publish(userIds.map((userId) => ({ userId, seq: null, event })));
  }

  private async append(tx: Tx, pending: Pending[]): Promise<{ deliveries: Delivery[]; reads: unknown[] }> {
    if (pending.length === 0) return { deliveries: [], reads: [] };
    const perUser = new Map<string, StreamEvent[]>();
    for (const p of pending) {
      for (const u of p.userIds) {
        let list = perUser.get(u);
        if (!list) perUser.set(u, (list = []));
        list.push(p.event);
      }
    }
    const ids = [...perUser.keys()].sort();
    const counts = ids.map((u) => perUser.get(u)!.length);
    // The payloads are serialized once here (shared with the WebSocket frames of every recipient),
    // each with its place among the user's new events; the statement turns places into seqs.
    const records: string[] = [];
    for (const u of ids) {
      const uid = JSON.stringify(u);
      let ord = 0;
      for (const ev of perUser.get(u)!) records.push(`{"user_id":${uid},"ord":${++ord},"type":${JSON.stringify(ev.type)},"data":${payloadJson(ev.data)}}`);
    }
    // One round trip: lock the users in id order (FOR NO KEY UPDATE, not FOR UPDATE: the transaction
    // may already hold KEY SHARE locks on them — an insert referencing them, e.g. new members — and
    // two such transactions upgrading to FOR UPDATE deadlock; event_seq is not a key), advance each
    // user's event_seq, and insert the events at the seqs that frees, from one JSON document
    // (Postgres parses it once). Unknown users get no row in `upd`, so nothing is stored for them.
    // The observers' reads ride along as extra columns (json), so the statement returns one row:
    // the users' new heads as a json array, then one column per observer read.
    const addressed: Addressed[] = [];
    for (const u of ids) for (const event of perUser.get(u)!) addressed.push({ userId: u, event });
    const reads = this.observers.map((o) => o.read?.(addressed) ?? null);
    const extra = reads.map((q, i) => (q ? sql`, (${q}) as ${sql.raw(`r${i}`)}` : sql``));
    const out = await rows<Record<string, unknown>>(
      tx,
      sql`with locked as (select id from users where id = any(${pgTextArray(ids)}::text[]) order by id for no key update),
               n as (select unnest(${pgTextArray(ids)}::text[]) as id, unnest(${pgIntArray(counts)}::int[]) as n),
               upd as (update users set event_seq = users.event_seq + n.n
                       from n where users.id = n.id and users.id in (select id from locked)
                       returning users.id, users.event_seq, n.n),
               ins as (insert into user_events (user_id, seq, type, data)
                       select x.user_id, upd.event_seq - upd.n + x.ord, x.type, x.data
                       from jsonb_to_recordset(${`[${records.join(',')}]`}::jsonb) as x(user_id text, ord int, type text, data jsonb)
                       join upd on upd.id = x.user_id)
          select (select coalesce(json_agg(json_build_array(id, event_seq)), '[]'::json) from upd) as heads${sql.join(extra)}`,
    );
    const row = out[0]!;
    const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
    const top = new Map((json(row.heads) as Array<[string, number]>).map(([id, seq]) => [id, Number(seq)]));
    const deliveries: Delivery[] = [];
    for (const u of ids) {
      const list = perUser.get(u)!;
      const last = top.get(u);
      if (last === undefined) continue; // unknown user: nothing stored
      let s = last - list.length;
      for (const ev of list) {
        s += 1;
        deliveries.push({ userId: u, seq: s, event: { ...ev, cursor: String(s) } as StreamEvent });
      }
    }
    return { deliveries, reads: reads.map((q, i) => (q ? (json(row[`r${i}`]) ?? null) : null)) };
  }

  /** The user's events after `cursor`, oldest first. */
  async readAfter(ex: Executor, userId: string, cursor: number, limit: number): Promise<Delivery[]> {
    const r = await rows<{ seq: number; type: string; data: unknown }>(
      ex,
      sql`select seq, type, data from user_events where user_id = ${userId} and seq > ${cursor} order by seq limit ${limit}`,
    );
    return r.map((e) => {
      const seq = Number(e.seq);
      const data = typeof e.data === 'string' ? JSON.parse(e.data) : e.data;
      return { userId, seq, event: { type: e.type, data, cursor: String(seq) } as StreamEvent };
    });
  }

  /** Current head and retention floor of a user's log. */
  async position(ex: Executor, userId: string): Promise<{ head: number; prunedSeq: number } | null> {
    const r = await rows<{ event_seq: number; events_pruned_seq: number }>(
      ex,
      sql`select event_seq, events_pruned_seq from users where id = ${userId}`,
    );
    return r[0] ? { head: Number(r[0].event_seq), prunedSeq: Number(r[0].events_pruned_seq) } : null;
  }

  /** Deletes events older than the retention period and records each user's new floor. */
  async prune(olderThan: Date): Promise<number> {
    const r = await rows<{ n: number }>(
      this.database.db,
      sql`with gone as (delete from user_events where created_at < ${olderThan.toISOString()} returning user_id, seq),
               floor as (select user_id, max(seq) as seq from gone group by user_id),
               upd as (update users set events_pruned_seq = greatest(users.events_pruned_seq, floor.seq) from floor where users.id = floor.user_id)
          select count(*)::int as n from gone`,
    );
    return Number(r[0]?.n ?? 0);
  }
}
