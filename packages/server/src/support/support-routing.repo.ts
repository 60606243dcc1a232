import type { SupportState } from '@sohbet/protocol';
import { pgTextArray, rows, sql, type Executor } from '../db/db.ts';
import type { SQL } from 'drizzle-orm';
import { supportChats } from '../db/schema.ts';
import type { OperatorLoad, RoutingDecision } from './support.domain.ts';
import type { ChatPatch, OperatorRow, SupportChatRow } from './support.repo.ts';

// The routing hot path (start → offer → accept → resolve) runs these statements for every chat, so
// they are plain SQL: Drizzle's builder and its per-column row mapping cost about three times the
// CPU of a `sql` template per query, and a support chat has 27 columns. A row comes back as one
// `row_to_json` column and is read by `chatRow` / `operatorRow` (checked against Drizzle's own
// mapping on both databases in support-routing.repo.test.ts, so a new column cannot be forgotten).
// No statement here spells its result with `*`, so each is a named prepared statement (db.ts).

type Raw = Record<string, unknown>;
export type Person = { id: string; name: string; avatarUrl: string | null };

/** A timestamptz as either driver (or row_to_json) returns it; Drizzle maps it the same way. */
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** A SupportChatRow from a `row_to_json(support_chats)` object (snake_case keys, ISO timestamps), parsed or not. */
export function chatRow(j: Raw | string): SupportChatRow {
  const r = json<Raw>(j);
  return {
    id: r.id as string,
    conversationId: r.conversation_id as string,
    customerId: r.customer_id as string,
    topic: r.topic as string,
    priority: r.priority as SupportChatRow['priority'],
    state: r.state as SupportChatRow['state'],
    operatorId: (r.operator_id ?? null) as string | null,
    offeredTo: (r.offered_to ?? null) as string | null,
    offerExpiresAt: date(r.offer_expires_at),
    declinedBy: (r.declined_by ?? []) as string[],
    context: r.context === undefined ? null : typeof r.context === 'string' ? JSON.parse(r.context) : r.context,
    firstMessage: r.first_message as string,
    queuedAt: date(r.queued_at)!,
    assignedAt: date(r.assigned_at),
    firstResponseAt: date(r.first_response_at),
    resolvedAt: date(r.resolved_at),
    csatScore: r.csat_score === null || r.csat_score === undefined ? null : Number(r.csat_score),
    csatComment: (r.csat_comment ?? null) as string | null,
    csatAt: date(r.csat_at),
    lastActivityAt: date(r.last_activity_at),
    skippedBy: (r.skipped_by ?? []) as string[],
    slaWaitWarnedAt: date(r.sla_wait_warned_at),
    slaResponseWarnedAt: date(r.sla_response_warned_at),
    version: Number(r.version),
    createdAt: date(r.created_at)!,
  };
}

/** An OperatorRow from a `row_to_json(support_operators)` object. */
export function operatorRow(j: Raw | string): OperatorRow {
  const r = json<Raw>(j);
  return {
    userId: r.user_id as string,
    status: r.status as OperatorRow['status'],
    maxChats: Number(r.max_chats),
    activeChats: Number(r.active_chats),
    topics: (r.topics ?? []) as string[],
    lastAssignedAt: date(r.last_assigned_at),
    disconnectedAt: date(r.disconnected_at),
    seenAt: date(r.seen_at),
    updatedAt: date(r.updated_at)!,
  };
}

/** A bound value for a raw statement: dates as ISO text, arrays as array literals, objects as JSON (the same on PGlite and node-postgres). */
function param(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return pgTextArray(v as string[]);
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v;
}

const CHAT_COLUMNS = supportChats as unknown as Record<string, { name: string; getSQLType(): string }>;

/** `col = value::type, …` of a patch (camelCase keys → their columns), undefined keys left out like Drizzle's `set`. */
function setList(patch: ChatPatch): SQL[] {
  return Object.entries(patch)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const col = CHAT_COLUMNS[k]!;
      return sql`${sql.identifier(col.name)} = ${param(v)}::${sql.raw(col.getSQLType())}`;
    });
}

/** `json_agg` of id/name/avatar of these users (for the DTOs a change sends), from an array parameter. */
const peopleSql = (ids: readonly (string | null | undefined)[]) =>
  sql`(select coalesce(json_agg(json_build_array(u.id, u.name, u.avatar_url)), '[]'::json) from users u where u.id = any(${pgTextArray([...new Set(ids.filter((x): x is string => !!x))])}::text[]))`;

const peopleOf = (v: unknown): Map<string, Person> => new Map(json<Array<[string, string, string | null]>>(v ?? '[]').map(([id, name, avatarUrl]) => [id, { id, name, avatarUrl }]));

export interface MoveSpec {
  id: string;
  from: readonly SupportState[];
  /** The version the caller read; null: no version check, `offeredTo` pins the chat instead (an accept, which reads nothing first). */
  version: number | null;
  offeredTo?: string;
  set: ChatPatch;
  /** Operator whose slot is taken, only if available, connected and under the limit. */
  claim?: string | null;
  /** Operator whose slot is given back. Must differ from `claim`. */
  release?: string | null;
  /** Claim first; the chat is changed only if the claim won (a lost claim writes nothing). */
  claimFirst?: boolean;
  /**
   * With claimFirst: the operators that may take the chat, best first. The claim takes the first of
   * them with room whose row no other transaction holds (skip locked), instead of waiting on the
   * best one's lock — concurrent starts that all chose the same least-loaded operator spread over
   * the next ones. `claim` is the first of them; the chat's offered_to and the decision's winner
   * become whoever was claimed.
   */
  claimAny?: readonly string[];
  decision?: { kind: string; decision: RoutingDecision };
  now: Date;
  /** Users whose names the answer needs besides the chat's customer and operator. */
  people: ReadonlyArray<string | null | undefined>;
}

export interface MoveResult {
  chat: SupportChatRow | null;
  claimed: OperatorRow | null;
  released: OperatorRow | null;
  people: Map<string, Person>;
}

export interface RoutingView {
  loads: OperatorLoad[];
  queue: SupportChatRow[] | null;
}

/**
 * What a routing pass routes with, as two select columns: every operator's load (narrow), and — only
 * when someone has a free slot — the queued chats, oldest first.
 */
const viewColumns = (limit: number, gate: SQL = sql`true`) =>
  sql`case when ${gate} then (select coalesce(json_agg(json_build_array(o.user_id, o.status, o.disconnected_at is null, o.max_chats, o.active_chats, o.topics, o.last_assigned_at) order by o.user_id), '[]'::json)
       from support_operators o) end as ops,
      case when ${gate} and exists (select 1 from support_operators o where o.status = 'available' and o.disconnected_at is null and o.active_chats < o.max_chats)
        then (select coalesce(json_agg(q.j), '[]'::json) from (select row_to_json(s) as j from support_chats s where s.state = 'queued' order by s.queued_at limit ${limit}) q)
      end as q`;

function viewOf(r: { ops: unknown; q: unknown }): RoutingView {
  const ops = json<Array<[string, OperatorLoad['status'], boolean, number, number, string[], string | null]>>(r.ops);
  const loads = ops.map(([userId, status, connected, maxChats, activeChats, topics, last]) => ({ userId, status, connected, maxChats, activeChats, topics, lastAssignedAt: date(last) }));
  return { loads, queue: r.q === null || r.q === undefined ? null : json<Raw[]>(r.q).map(chatRow) };
}

/** Plain-SQL reads and the one-statement state change of live support routing. */
export const routingRepo = {
  async chat(ex: Executor, id: string): Promise<SupportChatRow | null> {
    const r = await rows<{ j: Raw }>(ex, sql`select row_to_json(s) as j from support_chats s where s.id = ${id}`);
    return r[0] ? chatRow(r[0].j) : null;
  },

  /** The chat with the names of its customer and operator (a customer's or operator's view of it). */
  async chatWithPeople(ex: Executor, id: string): Promise<{ chat: SupportChatRow; people: Map<string, Person> } | null> {
    const r = await rows<{ j: Raw; p: unknown }>(
      ex,
      sql`select row_to_json(s) as j,
                 (select coalesce(json_agg(json_build_array(u.id, u.name, u.avatar_url)), '[]'::json) from users u where u.id in (s.customer_id, s.operator_id)) as p
          from support_chats s where s.id = ${id}`,
    );
    return r[0] ? { chat: chatRow(r[0].j), people: peopleOf(r[0].p) } : null;
  },

  async openChat(ex: Executor, customerId: string, topic: string): Promise<SupportChatRow | null> {
    const r = await rows<{ j: Raw }>(ex, sql`select row_to_json(s) as j from support_chats s where s.customer_id = ${customerId} and s.topic = ${topic} and s.state <> 'resolved'`);
    return r[0] ? chatRow(r[0].j) : null;
  },

  async chatByConversation(ex: Executor, conversationId: string): Promise<SupportChatRow | null> {
    const r = await rows<{ j: Raw }>(ex, sql`select row_to_json(s) as j from support_chats s where s.conversation_id = ${conversationId}`);
    return r[0] ? chatRow(r[0].j) : null;
  },

  /** Inserts a new queued chat (null when one exists: a concurrent start) and reads its customer's name, in one statement. */
  async insertChat(
    ex: Executor,
    row: { id: string; conversationId: string; customerId: string; topic: string; context: unknown; firstMessage: string; queuedAt: Date; createdAt: Date },
  ): Promise<{ chat: SupportChatRow | null; people: Map<string, Person> }> {
    const r = await rows<{ j: Raw | null; p: unknown }>(
      ex,
      sql`with ins as (
            insert into support_chats (id, conversation_id, customer_id, topic, context, first_message, queued_at, created_at)
            values (${row.id}, ${row.conversationId}, ${row.customerId}, ${row.topic}, ${row.context === null || row.context === undefined ? null : JSON.stringify(row.context)}::jsonb,
                    ${row.firstMessage}, ${param(row.queuedAt)}::timestamptz, ${param(row.createdAt)}::timestamptz)
            on conflict do nothing
            returning row_to_json(support_chats) as j
          )
          select (select j from ins) as j, ${peopleSql([row.customerId])} as p`,
    );
    return { chat: r[0]?.j ? chatRow(r[0].j) : null, people: peopleOf(r[0]?.p) };
  },

  /**
   * A new support chat with everything its start stores, in ONE statement (was eight): the
   * conversation (its first message already counted: last_seq 1), the queued chat, the customer as
   * its only member (read up to the first message, as a sender is), and the customer's question as
   * message 1. Nothing else can see the brand-new conversation yet, so the checks a send makes
   * (membership, blocks, reply, the seq lock) hold by construction. `chat` null: the conversation id
   * or an open chat for this customer and topic existed (a concurrent start) — the caller rolls back.
   */
  async insertStart(
    ex: Executor,
    q: {
      id: string; conversationId: string; customerId: string; topic: string; title: string; context: unknown; firstMessage: string; at: Date;
      message: { id: string; clientId: string; text: string; redacted: boolean };
    },
  ): Promise<{ chat: SupportChatRow | null; conversationCreatedAt: Date | null; people: Map<string, Person>; view: RoutingView | null }> {
    const at = param(q.at);
    const context = q.context === null || q.context === undefined ? null : JSON.stringify(q.context);
    const r = await rows<{ j: Raw | null; cc: unknown; p: unknown; ops: unknown; q: unknown }>(
      ex,
      sql`with conv as (
            insert into conversations (id, kind, direct_key, title, context, last_seq, last_message_at, created_by)
            values (${q.conversationId}, 'group', null, ${q.title}, ${context}::jsonb, 1, ${at}::timestamptz, ${q.customerId})
            on conflict do nothing
            returning created_at
          ),
          ins as (
            insert into support_chats (id, conversation_id, customer_id, topic, context, first_message, queued_at, created_at)
            select ${q.id}, ${q.conversationId}, ${q.customerId}, ${q.topic}, ${context}::jsonb, ${q.firstMessage}, ${at}::timestamptz, ${at}::timestamptz
            where exists (select 1 from conv)
            on conflict do nothing
            returning row_to_json(support_chats) as j
          ),
          mem as (
            insert into members (conversation_id, user_id, role, joined_seq, last_read_seq, last_delivered_seq)
            select ${q.conversationId}, ${q.customerId}, 'member', 0, 1, 1 where exists (select 1 from ins)
          ),
          msg as (
            insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at, redacted)
            select ${q.conversationId}, 1, ${q.message.id}, ${q.message.clientId}, ${q.customerId}, 'text', ${q.message.text}, null, null, false, ${at}::timestamptz, ${q.message.redacted}
            where exists (select 1 from ins)
          )
          select (select j from ins) as j, (select created_at from conv) as cc, ${peopleSql([q.customerId])} as p, ${viewColumns(499)}`,
    );
    const out = r[0];
    const chat = out?.j ? chatRow(out.j) : null;
    // The statement's reads do not see its own insert: the new chat joins the queue it read (it is the newest).
    const view = out && chat ? viewOf(out) : null;
    if (view?.queue) view.queue.push(chat!);
    return { chat, conversationCreatedAt: date(out?.cc), people: peopleOf(out?.p), view };
  },

  /**
   * The state change of G5 in one statement: the chat is updated only if still in one of `from`
   * at `version`; only then is the operator's slot claimed (available, connected, under the
   * limit) and/or released, and the decision recorded; the names for the answer come with it.
   * `chat` null: someone changed the chat first. A claim asked for and `claimed` null: the
   * operator had no room — the caller throws, rolling back the chat update and decision with its
   * transaction.
   */
  async move(ex: Executor, m: MoveSpec): Promise<MoveResult> {
    const any = m.claimFirst && m.claimAny && m.claimAny.length > 1 ? pgTextArray([...m.claimAny]) : null;
    const set = sql.join([...setList(any ? { ...m.set, offeredTo: undefined } : m.set), ...(any ? [sql`offered_to = (select user_id from cl)`] : []), sql`version = version + 1`], sql`, `);
    const now = param(m.now);
    const who = any
      ? sql`(select o.user_id from support_operators o
             where o.user_id = any(${any}::text[]) and o.status = 'available' and o.disconnected_at is null and o.active_chats < o.max_chats
             order by array_position(${any}::text[], o.user_id) limit 1 for update skip locked)`
      : sql`${m.claim}`;
    const claimSql = (gate: SQL) =>
      sql`cl as (update support_operators set active_chats = active_chats + 1, last_assigned_at = ${now}::timestamptz, updated_at = ${now}::timestamptz
                 where user_id = ${who} and status = 'available' and disconnected_at is null and active_chats < max_chats${gate}
                 returning row_to_json(support_operators) as j, user_id)`;
    const first = m.claim && m.claimFirst;
    const claim = m.claim && !first ? sql`, ${claimSql(sql` and exists (select 1 from c)`)}` : sql``;
    const release = m.release
      ? sql`, rl as (update support_operators set active_chats = greatest(active_chats - 1, 0), updated_at = ${now}::timestamptz
                    where user_id = ${m.release} and exists (select 1 from c)
                    returning row_to_json(support_operators) as j)`
      : sql``;
    const decision = m.decision
      ? sql`, d as (insert into support_decisions (chat_id, kind, decision, created_at)
                   select ${m.id}, ${m.decision.kind}, ${any ? sql`jsonb_set(${JSON.stringify(m.decision.decision)}::jsonb, '{winner}', to_jsonb((select user_id from cl)))` : sql`${JSON.stringify(m.decision.decision)}::jsonb`}, ${now}::timestamptz where exists (select 1 from c))`
      : sql``;
    const r = await rows<{ j: Raw | null; cl: Raw | null; rl: Raw | null; p: unknown }>(
      ex,
      sql`with ${first ? sql`${claimSql(sql``)}, ` : sql``}c as (update support_chats set ${set}
                     where id = ${m.id} and state = any(${pgTextArray(m.from)}::text[])${m.version === null ? sql`` : sql` and version = ${m.version}`}${m.offeredTo === undefined ? sql`` : sql` and offered_to = ${m.offeredTo}`}${first ? sql` and exists (select 1 from cl)` : sql``}
                     returning row_to_json(support_chats) as j, customer_id, operator_id, offered_to)${claim}${release}${decision}
          select (select j from c) as j,
                 ${m.claim ? sql`(select j from cl)` : sql`null::json`} as cl,
                 ${m.release ? sql`(select j from rl)` : sql`null::json`} as rl,
                 (select coalesce(json_agg(json_build_array(u.id, u.name, u.avatar_url)), '[]'::json) from users u
                   where u.id = any(${pgTextArray([...new Set(m.people.filter((x): x is string => !!x))])}::text[])
                      or u.id in (select customer_id from c union all select operator_id from c union all select offered_to from c)) as p`,
    );
    const out = r[0]!;
    return { chat: out.j ? chatRow(out.j) : null, claimed: out.cl ? operatorRow(out.cl) : null, released: out.rl ? operatorRow(out.rl) : null, people: peopleOf(out.p) };
  },

  /**
   * Resolve without reading first: the chat is locked and read in the statement, resolved only if it
   * is open and either waiting or owned by `by` (at the version just read), and the holder's slot —
   * the operator it is offered to, or its owner — released; the decision recorded. `before` is the
   * chat as it was (null: no such chat); `chat` null with a `before`: it was not `by`'s to resolve,
   * or already resolved.
   */
  async resolve(
    ex: Executor,
    q: { id: string; by: string; now: Date; decision: RoutingDecision; notice?: { id: string; text: string; code: string } },
  ): Promise<{ before: SupportChatRow | null; chat: SupportChatRow | null; released: OperatorRow | null; people: Map<string, Person>; notice: { seq: number; clientId: string; memberIds: string[] } | null }> {
    const now = param(q.now);
    // The notice (optional) as SupportNotices.notice and systemIn store it — seq under the conversation's
    // row lock (G1), its clientId naming the chat's version after the change — only if the resolve applied.
    const n = q.notice;
    const notice = n
      ? sql`, ns as (update conversations set last_seq = last_seq + 1, last_message_at = ${now}::timestamptz
                     where id = (select conversation_id from c) returning id, last_seq),
               nm as (insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at)
                      select ns.id, ns.last_seq, ${n.id}, ${n.code.slice(8, 20)}::text || '-' || right(c.id, 20) || '-' || c.version::text, null, 'system', ${n.text},
                             ${JSON.stringify({ type: 'notice', code: n.code, params: {} })}::jsonb, null, false, ${now}::timestamptz
                      from ns, c returning seq, client_id)`
      : sql``;
    const r = await rows<{ o: Raw | null; j: Raw | null; rl: Raw | null; p: unknown; ns: number | null; nc: string | null; nmem: unknown }>(
      ex,
      sql`with o as (select row_to_json(s) as j, s.id, s.version, s.state,
                            case when s.state = 'offered' then s.offered_to when s.state in ('assigned', 'pending', 'snoozed') then s.operator_id end as holder
                     from support_chats s where s.id = ${q.id} for update),
               c as (update support_chats s set state = 'resolved', resolved_at = ${now}::timestamptz, offered_to = null, offer_expires_at = null, version = s.version + 1
                     from o where s.id = o.id and s.version = o.version and s.state <> 'resolved'
                       and (s.state in ('queued', 'offered') or s.operator_id = ${q.by})
                     returning row_to_json(s) as j, s.id, s.version, s.conversation_id, s.customer_id, s.operator_id),
               rl as (update support_operators set active_chats = greatest(active_chats - 1, 0), updated_at = ${now}::timestamptz
                      where user_id = (select holder from o) and exists (select 1 from c)
                      returning row_to_json(support_operators) as j),
               d as (insert into support_decisions (chat_id, kind, decision, created_at)
                     select ${q.id}, 'resolve', ${JSON.stringify(q.decision)}::jsonb, ${now}::timestamptz where exists (select 1 from c))${notice}
          select (select j from o) as o, (select j from c) as j, (select j from rl) as rl,
                 ${n ? sql`(select seq from nm) as ns, (select client_id from nm) as nc,
                 (select coalesce(json_agg(m.user_id), '[]'::json) from members m where m.conversation_id = (select conversation_id from c)) as nmem,` : sql``}
                 (select coalesce(json_agg(json_build_array(u.id, u.name, u.avatar_url)), '[]'::json) from users u
                   where u.id in (select customer_id from c union all select operator_id from c union all select holder from o)) as p`,
    );
    const out = r[0]!;
    const seq = out.ns === null || out.ns === undefined ? null : Number(out.ns);
    return {
      before: out.o ? chatRow(out.o) : null, chat: out.j ? chatRow(out.j) : null, released: out.rl ? operatorRow(out.rl) : null, people: peopleOf(out.p),
      notice: seq === null ? null : { seq, clientId: out.nc!, memberIds: json<string[]>(out.nmem ?? '[]') },
    };
  },

  /**
   * Adds a member (if not one already) and returns every member id after it, in one statement
   * (the recipients of the conversation's update).
   */
  async addMemberListing(ex: Executor, conversationId: string, userId: string): Promise<string[]> {
    const r = await rows<{ ids: unknown }>(
      ex,
      sql`with ins as (insert into members (conversation_id, user_id, role, joined_seq, last_read_seq, last_delivered_seq)
                       values (${conversationId}, ${userId}, 'member', 0, 0, 0) on conflict do nothing returning user_id)
          select coalesce(json_agg(t.user_id), '[]'::json) as ids
          from (select m.user_id from members m where m.conversation_id = ${conversationId} union select user_id from ins) t`,
    );
    return json<string[]>(r[0]!.ids);
  },

  /**
   * What a drain pass routes with, in one read: every operator's load (narrow), and — only when
   * someone has a free slot — the queued chats, oldest first.
   */
  async routingView(ex: Executor, limit = 500): Promise<RoutingView> {
    // Nothing queued (the common case after a resolve on a desk with room): one index probe, no operator rows.
    const r = await rows<{ ops: unknown; q: unknown }>(ex, sql`select ${viewColumns(limit, sql`exists (select 1 from support_chats s where s.state = 'queued')`)}`);
    return r[0]!.ops === null || r[0]!.ops === undefined ? { loads: [], queue: [] } : viewOf(r[0]!);
  },

  /** Who to tell the queue moved: operators (id, topics) and the waiting customers (topic). */
  async signalTargets(ex: Executor): Promise<{ operators: Array<{ userId: string; topics: string[] }>; waiting: Array<{ customerId: string; topic: string }> }> {
    const r = await rows<{ ops: unknown; w: unknown }>(
      ex,
      sql`select (select coalesce(json_agg(json_build_array(o.user_id, o.topics)), '[]'::json) from support_operators o) as ops,
                 (select coalesce(json_agg(json_build_array(w.customer_id, w.topic)), '[]'::json)
                  from (select s.customer_id, s.topic from support_chats s where s.state in ('queued', 'offered') order by s.queued_at limit 500) w) as w`,
    );
    return {
      operators: json<Array<[string, string[]]>>(r[0]!.ops).map(([userId, topics]) => ({ userId, topics })),
      waiting: json<Array<[string, string]>>(r[0]!.w).map(([customerId, topic]) => ({ customerId, topic })),
    };
  },
};
