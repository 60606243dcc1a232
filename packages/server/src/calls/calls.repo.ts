import { and, asc, desc, eq, getTableColumns, inArray, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { rows, type Executor } from '../db/db.ts';
import { callLines, callRecordings, calls, callWebhookEvents } from '../db/schema.ts';
import type { MessageRow } from '../chat/chat.repo.ts';
import type { Change } from '../realtime/event-log.ts';
import type { CallPatch, LiveCall } from './calls.domain.ts';

export type CallRow = typeof calls.$inferSelect;
export type NewCall = typeof calls.$inferInsert;
export type RecordingRow = typeof callRecordings.$inferSelect;

// The hot path (start → ringing → cancel) runs a handful of statements per call, so they are
// plain SQL: Drizzle's select builder costs about twice the CPU of a `sql` template per query. A
// call comes back as one `row_to_json` column, not 22: node-postgres pays per column of every
// result (type parsers, row objects), more than one JSON.parse costs. `callRow` reads it into a
// CallRow (checked against Drizzle's own mapping in calls.repo.test.ts, so a new column cannot be
// forgotten here).
type RawCall = Record<string, unknown>;
/** A timestamptz as either driver (or row_to_json) returns it; Drizzle maps it the same way. */
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));

/** A CallRow from a `row_to_json(calls)` object (snake_case keys, ISO timestamps), parsed or not. */
export function callRow(json: RawCall | string): CallRow {
  const r = typeof json === 'string' ? (JSON.parse(json) as RawCall) : json;
  return {
    id: r.id as string,
    conversationId: r.conversation_id as string,
    callerId: r.caller_id as string,
    calleeId: r.callee_id as string,
    media: r.media as CallRow['media'],
    provider: r.provider as CallRow['provider'],
    state: r.state as CallRow['state'],
    endReason: (r.end_reason ?? null) as CallRow['endReason'],
    endedBy: (r.ended_by ?? null) as string | null,
    answeredByDevice: (r.answered_by_device ?? null) as string | null,
    callerDevice: (r.caller_device ?? null) as string | null,
    recording: r.recording as boolean,
    recordingRef: (r.recording_ref ?? null) as string | null,
    dueAt: date(r.due_at),
    callerGoneAt: date(r.caller_gone_at),
    calleeGoneAt: date(r.callee_gone_at),
    quality: typeof r.quality === 'string' ? JSON.parse(r.quality) : (r.quality ?? null),
    version: Number(r.version),
    createdAt: date(r.created_at)!,
    acceptedAt: date(r.accepted_at),
    activeAt: date(r.active_at),
    endedAt: date(r.ended_at),
  };
}

/**
 * Every column of `calls`, named (from the schema) instead of `returning *`: db.ts leaves statements
 * with a `*` result unprepared, so the start and end statements were parsed and planned on every
 * call (≈ 1 ms of PostgreSQL CPU per setup). A named list keeps its result type when another
 * instance's migration adds a column, which is why `*` stays unprepared.
 */
const CALL_COLUMNS = sql.raw(Object.values(getTableColumns(calls)).map((c) => `"${c.name}"`).join(', '));

/** A bound value for a raw statement: dates as ISO strings (the same text on PGlite and node-postgres). */
const param = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v);

/** `col = value, …` of a patch (camelCase keys → their columns), undefined keys left out like Drizzle's `set`. */
function setList(patch: CallPatch): SQL[] {
  const cols = calls as unknown as Record<string, { name: string }>;
  return Object.entries(patch)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => sql`${sql.identifier(cols[k]!.name)} = ${param(v)}`);
}

/** What a start needs to read before its transaction: a prior call with this id, and the conversation with its members and blocks. */
export interface StartContext {
  prior: CallRow | null;
  conversation: { id: string; kind: string } | null;
  memberIds: string[];
  /** [blocker, blocked] pairs between the actor and the other members. */
  blocks: Array<[string, string]>;
}

/** Outcome of the ringing insert: the call and its two lines, or the live calls holding the lines (nothing written). */
export interface RingOutcome {
  lines: Map<string, LiveCall>;
  call: CallRow | null;
  claimed: number;
}

/** Queries of calls (Drizzle, plain SQL on the hot path); the conditional update and the line claim are the G5 building blocks. */
export const callsRepo = {
  async get(ex: Executor, id: string): Promise<CallRow | null> {
    const r = await rows<{ call: RawCall }>(ex, sql`select row_to_json(calls) as call from calls where id = ${id}`);
    return r[0] ? callRow(r[0].call) : null;
  },

  /**
   * One round trip before a start: a call already stored under this id (a retry), and the
   * conversation (direct by key, or by id), its members and the blocks between the actor and them.
   */
  async startContext(ex: Executor, q: { callId: string; actorId: string; directKey?: string; conversationId?: string }): Promise<StartContext> {
    const conv = q.directKey !== undefined ? sql`direct_key = ${q.directKey}` : sql`id = ${q.conversationId ?? ''}`;
    const r = await rows<{ prior: RawCall | string | null; id: string | null; kind: string | null; member_ids: unknown; blocks: unknown }>(
      ex,
      sql`with c as (select id, kind from conversations where ${conv} limit 1),
               m as (select user_id from members where conversation_id = (select id from c))
          select (select row_to_json(calls) from calls where id = ${q.callId}) as prior,
                 c.id, c.kind,
                 (select coalesce(json_agg(user_id), '[]'::json) from m) as member_ids,
                 (select coalesce(json_agg(json_build_array(b.blocker_id, b.blocked_id)), '[]'::json) from blocks b
                   where (b.blocker_id = ${q.actorId} and b.blocked_id in (select user_id from m))
                      or (b.blocked_id = ${q.actorId} and b.blocker_id in (select user_id from m))) as blocks
          from (select 1) one left join c on true`,
    );
    const row = r[0]!;
    const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
    const prior = row.prior ? callRow(row.prior) : null;
    return {
      prior,
      conversation: row.id ? { id: row.id, kind: row.kind! } : null,
      memberIds: json<string[]>(row.member_ids),
      blocks: json<Array<[string, string]>>(row.blocks),
    };
  },

  /**
   * The ringing insert in one statement: if neither party holds a line, stores the call and claims
   * both lines (in user-id order, so concurrent starts between a pair never deadlock); otherwise
   * writes nothing and returns the live calls holding the lines. A concurrent start that took a
   * line after the check makes the statement fail with a unique violation (nothing written, even
   * in autocommit): the caller decides again on a fresh read.
   */
  async insertRinging(ex: Executor, row: NewCall & { dueAt: Date }, userIds: [string, string]): Promise<RingOutcome> {
    const c = this.ringChange(row, userIds);
    const r = await rows<Record<string, unknown>>(ex, sql`with ${c.ctes} select ${c.select}`);
    return this.ringOutcome(r[0]!);
  },

  /** `insertRinging` as a change for `EventLog.write`'s `together` (the call's `call.updated` stored in the same statement); `ins` has the call if it was stored. */
  ringChange(row: NewCall & { dueAt: Date }, userIds: [string, string]): Change {
    const [a, b] = [...userIds].sort() as [string, string];
    return {
      ctes: sql`l as (
            select cl.user_id, c.id, c.caller_id, c.callee_id, c.conversation_id, c.state
            from call_lines cl join calls c on c.id = cl.call_id where cl.user_id in (${a}, ${b})
          ), ins as (
            insert into calls (id, conversation_id, caller_id, callee_id, media, provider, state, caller_device, recording, created_at, due_at)
            select ${row.id}::text, ${row.conversationId}::text, ${row.callerId}::text, ${row.calleeId}::text, ${row.media}::text, ${row.provider}::text,
                   ${row.state}::text, ${row.callerDevice ?? null}::text, ${row.recording ?? false}::boolean, ${param(row.createdAt)}::timestamptz, ${param(row.dueAt)}::timestamptz
            where not exists (select 1 from l)
            on conflict do nothing
            returning ${CALL_COLUMNS}
          ), claim as (
            insert into call_lines (user_id, call_id)
            select v.u, ${row.id}::text from (values (${a}::text, 1), (${b}::text, 2)) as v(u, o) where exists (select 1 from ins) order by v.o
            returning user_id
          )`,
      guard: 'ins',
      select: sql`(select row_to_json(ins) from ins) as call, (select coalesce(json_agg(l), '[]'::json) from l) as lines, (select count(*)::int from claim) as claimed`,
    };
  },

  /** What `ringChange`'s columns say. */
  ringOutcome(out: Record<string, unknown>): RingOutcome {
    const held = (typeof out.lines === 'string' ? JSON.parse(out.lines) : out.lines) as Array<{ user_id: string } & Record<string, string>>;
    const lines = new Map<string, LiveCall>(
      held.map((x) => [x.user_id, { id: x.id!, callerId: x.caller_id!, calleeId: x.callee_id!, conversationId: x.conversation_id!, state: x.state as LiveCall['state'] }]),
    );
    return { lines, call: out.call ? callRow(out.call as RawCall | string) : null, claimed: Number(out.claimed) };
  },

  /** The row `insertRinging` stores (the columns it leaves to their defaults included), known before it runs. */
  ringingRow(row: NewCall & { dueAt: Date }): CallRow {
    return {
      id: row.id, conversationId: row.conversationId, callerId: row.callerId, calleeId: row.calleeId, media: row.media, provider: row.provider, state: row.state,
      endReason: null, endedBy: null, answeredByDevice: null, callerDevice: row.callerDevice ?? null, recording: row.recording ?? false, recordingRef: null,
      dueAt: row.dueAt, callerGoneAt: null, calleeGoneAt: null, quality: null, version: 0, createdAt: row.createdAt, acceptedAt: null, activeAt: null, endedAt: null,
    };
  },

  /** Inserts a call unless its id exists; the stored row (null: the id was taken). */
  async insertReturning(ex: Executor, row: NewCall): Promise<CallRow | null> {
    const r = await ex.insert(calls).values(row).onConflictDoNothing().returning();
    return r[0] ?? null;
  },

  async lock(ex: Executor, id: string): Promise<CallRow | null> {
    const r = await ex.select().from(calls).where(eq(calls.id, id)).for('update');
    return r[0] ?? null;
  },

  /** The live calls holding these users' lines. */
  async lines(ex: Executor, userIds: string[]): Promise<Map<string, LiveCall>> {
    const r = await ex
      .select({ userId: callLines.userId, id: calls.id, callerId: calls.callerId, calleeId: calls.calleeId, conversationId: calls.conversationId, state: calls.state })
      .from(callLines)
      .innerJoin(calls, eq(calls.id, callLines.callId))
      .where(inArray(callLines.userId, userIds));
    return new Map(r.map(({ userId, ...c }) => [userId, c]));
  },

  /**
   * Applies a decided patch only if nobody changed the call since it was read (version check).
   * A patch that ends the call frees its lines in the same statement (only if the update applied).
   */
  async update(ex: Executor, id: string, version: number, patch: CallPatch): Promise<CallRow | null> {
    return (await this.updateWithEntry(ex, id, version, patch, null))?.call ?? null;
  },

  /**
   * `update`, and if it applied, a system message (the call's entry in its conversation) appended
   * in the same statement the way chatRepo.appendMessage does; its seq comes back with the call.
   */
  async updateWithEntry(ex: Executor, id: string, version: number, patch: CallPatch, entry: Omit<MessageRow, 'seq'> | null): Promise<{ call: CallRow; entrySeq: number | null } | null> {
    const set = sql.join([...setList(patch), sql`version = version + 1`], sql`, `);
    const upd = sql`update calls set ${set} where id = ${id} and version = ${version} returning ${CALL_COLUMNS}`;
    const free = patch.state === 'ended' ? sql`, d as (delete from call_lines where call_id = ${id} and exists (select 1 from u))` : sql``;
    const m = entry;
    const append = m
      ? sql`, s as (update conversations set last_seq = last_seq + 1, last_message_at = ${m.createdAt.toISOString()} where id = ${m.conversationId} and exists (select 1 from u) returning last_seq),
            msg as (insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at)
                    select ${m.conversationId}, s.last_seq, ${m.id}, ${m.clientId}, ${m.senderId}, ${m.kind}, ${m.text}, ${m.payload === null ? null : JSON.stringify(m.payload)}::jsonb,
                           ${m.replyToSeq}::bigint, ${m.forwarded}, ${m.createdAt.toISOString()}::timestamptz
                    from s returning seq)`
      : sql``;
    const r = await rows<{ call: RawCall; entry_seq: number | null }>(
      ex,
      sql`with u as (${upd})${free}${append} select row_to_json(u) as call, ${m ? sql`(select seq from msg)` : sql`null::bigint`} as entry_seq from u`,
    );
    if (!r[0]) return null;
    return { call: callRow(r[0].call), entrySeq: r[0].entry_seq === null ? null : Number(r[0].entry_seq) };
  },

  async setRecordingRef(ex: Executor, id: string, ref: string): Promise<void> {
    await ex.update(calls).set({ recordingRef: ref }).where(eq(calls.id, id));
  },

  /** Records a webhook delivery; false when it was seen before (a duplicate to ignore). */
  async firstDelivery(ex: Executor, id: string): Promise<boolean> {
    const r = await ex.insert(callWebhookEvents).values({ id }).onConflictDoNothing().returning({ id: callWebhookEvents.id });
    return r.length === 1;
  },

  async recording(ex: Executor, id: string): Promise<RecordingRow | null> {
    const r = await ex.select().from(callRecordings).where(eq(callRecordings.id, id));
    return r[0] ?? null;
  },

  async upsertRecording(ex: Executor, row: typeof callRecordings.$inferInsert): Promise<RecordingRow> {
    const { id: _id, createdAt: _c, ...set } = row;
    const r = await ex.insert(callRecordings).values(row).onConflictDoUpdate({ target: callRecordings.id, set }).returning();
    return r[0]!;
  },

  /** Recordings still being written, with their calls (the stale-writer sweep). */
  async openRecordings(ex: Executor): Promise<Array<{ rec: RecordingRow; call: CallRow }>> {
    return ex.select({ rec: callRecordings, call: calls }).from(callRecordings).innerJoin(calls, eq(calls.id, callRecordings.callId)).where(eq(callRecordings.status, 'recording')).limit(200);
  },

  async recordings(ex: Executor, callId: string): Promise<Array<typeof callRecordings.$inferSelect>> {
    return ex.select().from(callRecordings).where(eq(callRecordings.callId, callId)).orderBy(asc(callRecordings.createdAt));
  },

  async setQuality(ex: Executor, id: string, quality: unknown): Promise<void> {
    await ex.update(calls).set({ quality }).where(eq(calls.id, id));
  },

  /** Live calls whose deadline passed or whose reconnect grace ran out, locked for this sweeper only. */
  async claimDue(ex: Executor, now: Date, goneBefore: Date, limit: number): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(
        and(
          ne(calls.state, 'ended'),
          or(lte(calls.dueAt, now), lte(calls.callerGoneAt, goneBefore), lte(calls.calleeGoneAt, goneBefore)),
        ),
      )
      .orderBy(asc(calls.dueAt))
      .limit(limit)
      .for('update', { skipLocked: true });
  },

  /** The user's live calls (to start or stop their reconnect grace). */
  async liveFor(ex: Executor, userId: string): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(and(ne(calls.state, 'ended'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))));
  },

  async history(ex: Executor, userId: string, q: { limit: number; before?: string }): Promise<CallRow[]> {
    return ex
      .select()
      .from(calls)
      .where(and(or(eq(calls.callerId, userId), eq(calls.calleeId, userId)), q.before ? lt(calls.createdAt, new Date(q.before)) : undefined))
      .orderBy(desc(calls.createdAt))
      .limit(q.limit);
  },

  async countLive(ex: Executor): Promise<number> {
    const r = await ex.select({ n: sql<number>`count(*)::int` }).from(calls).where(ne(calls.state, 'ended'));
    return Number(r[0]?.n ?? 0);
  },

  /** Calls that ended without releasing lines cannot exist; this guards the invariant in tests. */
  async orphanLines(ex: Executor): Promise<number> {
    const r = await ex
      .select({ n: sql<number>`count(*)::int` })
      .from(callLines)
      .innerJoin(calls, eq(calls.id, callLines.callId))
      .where(eq(calls.state, 'ended'));
    return Number(r[0]?.n ?? 0);
  },
};
