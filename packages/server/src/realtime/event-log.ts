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
  /**
   * The observer's whole work for these events as one data-modifying statement (`insert … returning
   * …`, with `applied` — true only if the change applied — in its where clause), so that
   * `writeChange` is one statement and needs no transaction. null: nothing to do for these events;
   * undefined (or no `inline`): it cannot say it in SQL, and the write takes a transaction.
   */
  inline?(events: readonly Addressed[], applied: SQL): SQL | null | undefined;
  /** The number of rows an inline statement returned, after commit. */
  inlined?(n: number): void;
}

/** An event and one of its recipients, before it has a seq. */
export interface Addressed {
  userId: string;
  event: StreamEvent;
}

/**
 * A change that is one statement, stored together with its events in that same statement (one
 * round trip for both). The events are stored only if the change applied.
 */
export interface Change {
  /** The change's CTEs (`a as (...), b as (...)`). */
  ctes: SQL;
  /** The CTE that returns a row only if the change applied. */
  guard: string;
  /** The change's result columns (a select list over its CTEs), returned by `together`. */
  select: SQL;
}

/** Runs a change with the events `declare` emits, in one statement; resolves to the change's columns and whether its events were stored. */
export type Together = (change: Change, declare: (emit: Emit) => void) => Promise<{ row: Record<string, unknown>; stored: boolean }>;

interface Appended {
  deliveries: Delivery[];
  reads: unknown[];
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
  async write<T>(fn: (tx: Tx, emit: Emit, together: Together) => Promise<T>): Promise<T> {
    let deliveries: Delivery[] = [];
    const result = await this.database.db.transaction(async (tx) => {
      const batches: Appended[] = [];
      const pending: Pending[] = [];
      const together: Together = async (change, declare) => {
        const events: Pending[] = [];
        declare(collect(events));
        const { appended, row } = await this.append(tx, events, change);
        batches.push(appended);
        return { row, stored: appended.deliveries.length > 0 };
      };
      const r = await fn(tx, collect(pending), together);
      batches.push((await this.append(tx, pending)).appended);
      for (const b of batches) {
        if (!b.deliveries.length) continue;
        for (let i = 0; i < this.observers.length; i++) await this.observers[i]!.run(tx, b.deliveries, b.reads[i] ?? null);
      }
      deliveries = batches.length === 1 ? batches[0]!.deliveries : batches.flatMap((b) => b.deliveries);
      return r;
    });
    this.bus.publish(deliveries);
    return result;
  }

  /**
   * A change that is one statement, with its events (see `Together`). When every observer can do
   * its part in SQL (`inline`), the change, the event append and the observers' work are ONE
   * statement in autocommit — atomic on its own, no begin/commit round trips; otherwise it is
   * `together` in a transaction. Published after commit either way.
   */
  async writeChange(change: Change, declare: (emit: Emit) => void): Promise<{ row: Record<string, unknown>; stored: boolean }> {
    const events: Pending[] = [];
    declare(collect(events));
    const addressed = group(events).addressed;
    const applied = sql`exists (select 1 from ${sql.identifier(change.guard)})`;
    const inlines = this.observers.map((o) => (addressed.length ? (o.inline ? o.inline(addressed, applied) : undefined) : null));
    if (inlines.some((q) => q === undefined)) return this.write((_tx, _emit, together) => together(change, declare));
    const { appended, row } = await this.append(this.database.db, events, change, inlines as Array<SQL | null>);
    this.bus.publish(appended.deliveries);
    inlines.forEach((q, i) => q && this.observers[i]!.inlined?.(Number(row[`ev_n${i}`] ?? 0)));
    return { row, stored: appended.deliveries.length > 0 };
  }

  /** Publishes ephemeral events (typing, presence): never stored, no cursor. */
  publishEphemeral(userIds: readonly string[], event: StreamEvent): void {
    this.bus.publish(userIds.map((userId) => ({ userId, seq: null, event })));
  }

  private async append(tx: Executor, pending: Pending[], change?: Change, inlines?: Array<SQL | null>): Promise<{ appended: Appended; row: Record<string, unknown> }> {
    if (pending.length === 0 && !change) return { appended: { deliveries: [], reads: [] }, row: {} };
    const { perUser, ids, addressed } = group(pending);
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
    // Inline observers (writeChange) do their work instead of reading for `run`.
    const reads = this.observers.map((o) => (addressed.length && !inlines ? (o.read?.(addressed) ?? null) : null));
    const extra = reads.map((q, i) => (q ? sql`, (${q}) as ${sql.raw(`ev_r${i}`)}` : sql``));
    const inlineCtes = (inlines ?? []).map((q, i) => (q ? sql`, ${sql.raw(`ev_o${i}`)} as (${q})` : sql``));
    const inlineCounts = (inlines ?? []).map((q, i) => (q ? sql`, (select count(*)::int from ${sql.raw(`ev_o${i}`)}) as ${sql.raw(`ev_n${i}`)}` : sql``));
    // With a change: its CTEs come first, and nothing is locked or stored unless its guard has a row.
    const applied = change ? sql` and exists (select 1 from ${sql.identifier(change.guard)})` : sql``;
    const out = await rows<Record<string, unknown>>(
      tx,
      sql`with ${change ? sql`${change.ctes}, ` : sql``}ev_locked as (select id from users where id = any(${pgTextArray(ids)}::text[])${applied} order by id for no key update),
               ev_n as (select unnest(${pgTextArray(ids)}::text[]) as id, unnest(${pgIntArray(counts)}::int[]) as n),
               ev_upd as (update users set event_seq = users.event_seq + ev_n.n
                       from ev_n where users.id = ev_n.id and users.id in (select id from ev_locked)
                       returning users.id, users.event_seq, ev_n.n),
               ev_ins as (insert into user_events (user_id, seq, type, data)
                       select x.user_id, ev_upd.event_seq - ev_upd.n + x.ord, x.type, x.data
                       from jsonb_to_recordset(${`[${records.join(',')}]`}::jsonb) as x(user_id text, ord int, type text, data jsonb)
                       join ev_upd on ev_upd.id = x.user_id)${sql.join(inlineCtes)}
          select ${change ? sql`${change.select}, ` : sql``}(select coalesce(json_agg(json_build_array(id, event_seq)), '[]'::json) from ev_upd) as ev_heads${sql.join(extra)}${sql.join(inlineCounts)}`,
    );
    const row = out[0]!;
    const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
    const top = new Map((json(row.ev_heads) as Array<[string, number]>).map(([id, seq]) => [id, Number(seq)]));
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
    return { appended: { deliveries, reads: reads.map((q, i) => (q ? (json(row[`ev_r${i}`]) ?? null) : null)) }, row };
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

function collect(into: Pending[]): Emit {
  return (userIds, type, data) => {
    if (userIds.length) into.push({ userIds, event: { type, data } as StreamEvent });
  };
}

/** The events by recipient (users in id order: the lock order), and each event with each recipient. */
function group(pending: readonly Pending[]): { perUser: Map<string, StreamEvent[]>; ids: string[]; addressed: Addressed[] } {
  const perUser = new Map<string, StreamEvent[]>();
  for (const p of pending) {
    for (const u of p.userIds) {
      let list = perUser.get(u);
      if (!list) perUser.set(u, (list = []));
      list.push(p.event);
    }
  }
  const ids = [...perUser.keys()].sort();
  const addressed: Addressed[] = [];
  for (const u of ids) for (const event of perUser.get(u)!) addressed.push({ userId: u, event });
  return { perUser, ids, addressed };
}
