import { and, eq, inArray, sql as dsql } from 'drizzle-orm';
import type { ConversationContext, MessageKind, MessagePayload } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { pgIntArray, pgTextArray, rows, sql, type Executor } from '../db/db.ts';
import { blocks, conversations, hiddenMessages, members, messages, reactions, users } from '../db/schema.ts';

export type MemberRole = 'owner' | 'admin' | 'member';

export interface UserRow {
  id: string;
  name: string;
  avatarUrl: string | null;
  roles: string[];
  lastSeenAt: Date | null;
}
export interface MemberRow {
  userId: string;
  role: MemberRole;
  lastReadSeq: number;
  lastDeliveredSeq: number;
  muted: boolean;
  archived: boolean;
  joinedSeq: number;
}
export interface ConversationRow {
  id: string;
  kind: 'direct' | 'group';
  directKey: string | null;
  title: string | null;
  context: ConversationContext | null;
  lastSeq: number;
  lastMessageAt: Date | null;
  createdAt: Date;
}
export interface MessageRow {
  conversationId: string;
  seq: number;
  id: string;
  clientId: string | null;
  senderId: string | null;
  kind: MessageKind;
  text: string | null;
  payload: MessagePayload | null;
  replyToSeq: number | null;
  forwarded: boolean;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  /** The pre-send hook replaced the sender's text (safety); absent reads as false. */
  redacted?: boolean;
}

/** The stored columns of a message, selected by every read of messages. */
export const messageColumns = {
  conversationId: messages.conversationId,
  seq: messages.seq,
  id: messages.id,
  clientId: messages.clientId,
  senderId: messages.senderId,
  kind: messages.kind,
  text: messages.text,
  payload: messages.payload,
  replyToSeq: messages.replyToSeq,
  forwarded: messages.forwarded,
  createdAt: messages.createdAt,
  editedAt: messages.editedAt,
  deletedAt: messages.deletedAt,
  redacted: messages.redacted,
};

/** Drizzle queries for conversations, members, messages, reactions and blocks. No business rules. */
export const chatRepo = {
  async upsertUser(ex: Executor, u: { id: string; name: string; avatarUrl: string | null; roles: string[] }): Promise<void> {
    await ex
      .insert(users)
      .values({ id: u.id, name: u.name, avatarUrl: u.avatarUrl, roles: u.roles })
      .onConflictDoUpdate({
        target: users.id,
        set: { name: u.name, avatarUrl: u.avatarUrl, roles: u.roles, updatedAt: new Date() },
        // Skip the write (and its WAL) when nothing changed: tokens are verified on every connect.
        setWhere: dsql`(users.name, users.avatar_url, users.roles) is distinct from (excluded.name, excluded.avatar_url, excluded.roles) and users.deleted_at is null`,
      });
  },

  async ensureUsers(ex: Executor, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await ex.select({ id: users.id }).from(users).where(inArray(users.id, ids));
    return found.map((r) => r.id);
  },

  /** When this service first saw the user (young accounts get tighter limits). */
  async userCreatedAt(ex: Executor, id: string): Promise<Date | null> {
    const [r] = await ex.select({ createdAt: users.createdAt }).from(users).where(eq(users.id, id));
    return r?.createdAt ?? null;
  },

  async usersByIds(ex: Executor, ids: string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return ex
      .select({ id: users.id, name: users.name, avatarUrl: users.avatarUrl, roles: users.roles, lastSeenAt: users.lastSeenAt })
      .from(users)
      .where(inArray(users.id, ids));
  },

  async setLastSeen(ex: Executor, userId: string, at: Date): Promise<void> {
    await ex.update(users).set({ lastSeenAt: at }).where(eq(users.id, userId));
  },

  async conversation(ex: Executor, id: string): Promise<ConversationRow | null> {
    const r = await ex.select().from(conversations).where(eq(conversations.id, id));
    return (r[0] as ConversationRow | undefined) ?? null;
  },

  /**
   * One conversation with its members, their users and its support topic, in one statement: what a
   * conversation's update to its members is built from (the same rows as conversation,
   * membersOfMany, usersByIds and topicsByConversation; chat.repo.test.ts checks they match).
   */
  async conversationParts(ex: Executor, id: string): Promise<{ conversation: ConversationRow; members: Array<MemberRow & { conversationId: string }>; users: UserRow[]; supportTopic: string | null } | null> {
    const r = await rows<{ conv: unknown; ms: unknown; us: unknown; topic: string | null }>(
      ex,
      sql`select row_to_json(c) as conv,
                 (select coalesce(json_agg(json_build_array(m.user_id, m.role, m.last_read_seq, m.last_delivered_seq, m.muted, m.archived, m.joined_seq)), '[]'::json)
                  from members m where m.conversation_id = c.id) as ms,
                 (select coalesce(json_agg(json_build_array(u.id, u.name, u.avatar_url, u.roles, u.last_seen_at)), '[]'::json)
                  from users u where u.id in (select m.user_id from members m where m.conversation_id = c.id)) as us,
                 (select s.topic from support_chats s where s.conversation_id = c.id) as topic
          from conversations c where c.id = ${id}`,
    );
    if (!r[0]) return null;
    const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
    const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));
    const c = json<Record<string, unknown>>(r[0].conv);
    const conversation = {
      id: c.id as string, kind: c.kind as ConversationRow['kind'], directKey: (c.direct_key ?? null) as string | null, title: (c.title ?? null) as string | null,
      context: (typeof c.context === 'string' ? JSON.parse(c.context) : (c.context ?? null)) as ConversationContext | null,
      lastSeq: Number(c.last_seq), lastMessageAt: date(c.last_message_at), createdBy: (c.created_by ?? null) as string | null, createdAt: date(c.created_at)!,
    } as ConversationRow;
    const ms = json<Array<[string, MemberRole, number, number, boolean, boolean, number]>>(r[0].ms).map(([userId, role, lastReadSeq, lastDeliveredSeq, muted, archived, joinedSeq]) => ({
      conversationId: conversation.id, userId, role, lastReadSeq: Number(lastReadSeq), lastDeliveredSeq: Number(lastDeliveredSeq), muted, archived, joinedSeq: Number(joinedSeq),
    }));
    const us = json<Array<[string, string, string | null, string[], string | null]>>(r[0].us).map(([uid, name, avatarUrl, roles, lastSeenAt]) => ({ id: uid, name, avatarUrl, roles, lastSeenAt: date(lastSeenAt) }));
    return { conversation, members: ms, users: us, supportTopic: r[0].topic ?? null };
  },

  async conversationByDirectKey(ex: Executor, key: string): Promise<ConversationRow | null> {
    const r = await ex.select().from(conversations).where(eq(conversations.directKey, key));
    return (r[0] as ConversationRow | undefined) ?? null;
  },

  /** Inserts unless a direct conversation with this key exists; returns whether it inserted. */
  async insertConversation(
    ex: Executor,
    c: { id: string; kind: 'direct' | 'group'; directKey: string | null; title: string | null; context: ConversationContext | null; createdBy: string },
  ): Promise<boolean> {
    const r = await ex.insert(conversations).values(c).onConflictDoNothing().returning({ id: conversations.id });
    return r.length === 1;
  },

  async addMembers(ex: Executor, conversationId: string, list: Array<{ userId: string; role: MemberRole; joinedSeq: number }>): Promise<string[]> {
    if (list.length === 0) return [];
    const r = await ex
      .insert(members)
      .values(list.map((m) => ({ conversationId, userId: m.userId, role: m.role, joinedSeq: m.joinedSeq, lastReadSeq: m.joinedSeq, lastDeliveredSeq: m.joinedSeq })))
      .onConflictDoNothing()
      .returning({ userId: members.userId });
    return r.map((x) => x.userId);
  },

  async removeMember(ex: Executor, conversationId: string, userId: string): Promise<boolean> {
    const r = await ex.delete(members).where(and(eq(members.conversationId, conversationId), eq(members.userId, userId))).returning({ u: members.userId });
    return r.length === 1;
  },

  async members(ex: Executor, conversationId: string): Promise<MemberRow[]> {
    return ex
      .select({
        userId: members.userId,
        role: members.role,
        lastReadSeq: members.lastReadSeq,
        lastDeliveredSeq: members.lastDeliveredSeq,
        muted: members.muted,
        archived: members.archived,
        joinedSeq: members.joinedSeq,
      })
      .from(members)
      .where(eq(members.conversationId, conversationId));
  },

  async member(ex: Executor, conversationId: string, userId: string): Promise<MemberRow | null> {
    const r = await ex
      .select({
        userId: members.userId,
        role: members.role,
        lastReadSeq: members.lastReadSeq,
        lastDeliveredSeq: members.lastDeliveredSeq,
        muted: members.muted,
        archived: members.archived,
        joinedSeq: members.joinedSeq,
      })
      .from(members)
      .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)));
    return r[0] ?? null;
  },

  async setMemberFlags(ex: Executor, conversationId: string, userId: string, flags: { muted?: boolean; archived?: boolean }): Promise<void> {
    await ex.update(members).set(flags).where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)));
  },

  /** Raises one member's read/delivered marks (never lowers them); returns the new marks if anything changed. */
  async raiseMarks(
    ex: Executor,
    conversationId: string,
    userId: string,
    marks: { read?: number; delivered: number },
  ): Promise<{ lastReadSeq: number; lastDeliveredSeq: number } | null> {
    const [r] = await chatRepo.raiseMarksMany(ex, [{ conversationId, userId, read: marks.read ?? 0, delivered: marks.delivered }]);
    return r ? { lastReadSeq: r.lastReadSeq, lastDeliveredSeq: r.lastDeliveredSeq } : null;
  },

  /**
   * Raises many members' read/delivered marks in one statement that first locks their rows in
   * (conversation, user) order, so concurrent batches never deadlock; returns the rows that changed.
   */
  async raiseMarksLocked(
    ex: Executor,
    marks: Array<{ conversationId: string; userId: string; read: number; delivered: number }>,
  ): Promise<Array<{ conversationId: string; userId: string; lastReadSeq: number; lastDeliveredSeq: number }>> {
    if (marks.length === 0) return [];
    const r = await rows<{ conversation_id: string; user_id: string; last_read_seq: number; last_delivered_seq: number }>(ex, sql`${raiseMarksLockedSql(marks)} select * from raised`);
    return r.map((x) => ({ conversationId: x.conversation_id, userId: x.user_id, lastReadSeq: Number(x.last_read_seq), lastDeliveredSeq: Number(x.last_delivered_seq) }));
  },

  /**
   * Everything a batch of sends must know before it writes, in one statement, run after
   * lockConversations (a statement sees what committed before it started: the same statement
   * waiting for a lock would check an older state): the conversations' members, which
   * (conversation, clientId) pairs are already stored (G2), who among the senders is blocked by
   * the peer of a direct conversation, and the messages replied to.
   */
  async sendContext(
    ex: Executor,
    q: { conversationIds: string[]; sends: Array<{ conversationId: string; clientId: string; actorId: string }>; replies: Array<{ conversationId: string; seq: number }> },
  ): Promise<SendContext> {
    const [r] = await rows<{ members: Array<{ conversation_id: string; user_id: string; joined_seq: number }>; priors: Array<{ conversation_id: string; client_id: string }>; blocked: Array<{ conversation_id: string; user_id: string }>; replies: Array<{ conversation_id: string; seq: number; sender_id: string | null; text: string | null; deleted: boolean }> }>(
      ex,
      sql`with convs as materialized (select id, kind from conversations where id = any(${pgTextArray(q.conversationIds)}::text[])),
          sends as (select * from unnest(${pgTextArray(q.sends.map((x) => x.conversationId))}::text[], ${pgTextArray(q.sends.map((x) => x.clientId))}::text[], ${pgTextArray(q.sends.map((x) => x.actorId))}::text[]) k(cid, clid, actor))
          select
            (select coalesce(json_agg(json_build_object('conversation_id', m.conversation_id, 'user_id', m.user_id, 'joined_seq', m.joined_seq)), '[]')
               from members m where m.conversation_id in (select id from convs)) as members,
            (select coalesce(json_agg(json_build_object('conversation_id', m.conversation_id, 'client_id', m.client_id)), '[]')
               from messages m join sends k on m.conversation_id = k.cid and m.client_id = k.clid) as priors,
            (select coalesce(json_agg(json_build_object('conversation_id', k.cid, 'user_id', k.actor)), '[]')
               from sends k join convs c on c.id = k.cid and c.kind = 'direct'
               join members o on o.conversation_id = k.cid and o.user_id <> k.actor
               join blocks b on b.blocker_id = o.user_id and b.blocked_id = k.actor) as blocked,
            (select coalesce(json_agg(json_build_object('conversation_id', m.conversation_id, 'seq', m.seq, 'sender_id', m.sender_id, 'text', m.text, 'deleted', m.deleted_at is not null)), '[]')
               from messages m join unnest(${pgTextArray(q.replies.map((x) => x.conversationId))}::text[], ${pgIntArray(q.replies.map((x) => x.seq))}::bigint[]) k(cid, s)
               on m.conversation_id = k.cid and m.seq = k.s) as replies`,
    );
    const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
    return {
      members: parse<typeof r.members>(r!.members).map((m) => ({ conversationId: m.conversation_id, userId: m.user_id, joinedSeq: Number(m.joined_seq) })),
      priors: parse<typeof r.priors>(r!.priors).map((x) => ({ conversationId: x.conversation_id, clientId: x.client_id })),
      blocked: parse<typeof r.blocked>(r!.blocked).map((x) => ({ conversationId: x.conversation_id, userId: x.user_id })),
      replies: parse<typeof r.replies>(r!.replies).map((x) => ({ conversationId: x.conversation_id, seq: Number(x.seq), senderId: x.sender_id, text: x.text, deleted: x.deleted })),
    };
  },

  /**
   * Locks conversations in id order for the rest of the transaction (seqs are taken under these
   * locks, G1). NO KEY UPDATE: adding a member or a message (whose foreign keys take KEY SHARE on
   * the conversation) does not wait for it.
   */
  async lockConversations(ex: Executor, ids: string[]): Promise<void> {
    await ex.execute(sql`select id from conversations where id = any(${pgTextArray(ids)}::text[]) order by id for no key update`);
  },

  /** Stores a batch of messages and raises their senders' marks (raiseMarksLocked) in one statement. */
  async storeSent(ex: Executor, list: MessageRow[], marks: Array<{ conversationId: string; userId: string; read: number; delivered: number }>): Promise<void> {
    if (list.length === 0) return;
    await ex.execute(sql`${raiseMarksLockedSql(marks)}, stored as (${insertMessagesSql(list)} returning 1)
                         select (select count(*) from stored) as stored, (select count(*) from raised) as raised`);
  },

  /** Raises many members' read/delivered marks at once; returns the rows that changed. */
  async raiseMarksMany(
    ex: Executor,
    marks: Array<{ conversationId: string; userId: string; read: number; delivered: number }>,
  ): Promise<Array<{ conversationId: string; userId: string; lastReadSeq: number; lastDeliveredSeq: number }>> {
    if (marks.length === 0) return [];
    const r = await rows<{ conversation_id: string; user_id: string; last_read_seq: number; last_delivered_seq: number }>(
      ex,
      sql`update members m set
            last_read_seq = greatest(m.last_read_seq, least(n.rd, c.last_seq)),
            last_delivered_seq = greatest(m.last_delivered_seq, least(greatest(n.dl, n.rd), c.last_seq))
          from unnest(${pgTextArray(marks.map((x) => x.conversationId))}::text[], ${pgTextArray(marks.map((x) => x.userId))}::text[],
                      ${pgIntArray(marks.map((x) => x.read))}::bigint[], ${pgIntArray(marks.map((x) => x.delivered))}::bigint[]) n(cid, uid, rd, dl),
               conversations c
          where c.id = n.cid and m.conversation_id = n.cid and m.user_id = n.uid
            and (m.last_read_seq < least(n.rd, c.last_seq) or m.last_delivered_seq < least(greatest(n.dl, n.rd), c.last_seq))
          returning m.conversation_id, m.user_id, m.last_read_seq, m.last_delivered_seq`,
    );
    return r.map((x) => ({ conversationId: x.conversation_id, userId: x.user_id, lastReadSeq: Number(x.last_read_seq), lastDeliveredSeq: Number(x.last_delivered_seq) }));
  },

  async blockedBetween(ex: Executor, a: string, b: string): Promise<{ aBlockedB: boolean; bBlockedA: boolean }> {
    const r = await ex
      .select({ blockerId: blocks.blockerId })
      .from(blocks)
      .where(dsql`(${blocks.blockerId} = ${a} and ${blocks.blockedId} = ${b}) or (${blocks.blockerId} = ${b} and ${blocks.blockedId} = ${a})`);
    return { aBlockedB: r.some((x) => x.blockerId === a), bBlockedA: r.some((x) => x.blockerId === b) };
  },

  async setBlock(ex: Executor, blockerId: string, blockedId: string, on: boolean): Promise<boolean> {
    if (on) {
      const r = await ex.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing().returning({ b: blocks.blockedId });
      return r.length === 1;
    }
    const r = await ex.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId))).returning({ b: blocks.blockedId });
    return r.length === 1;
  },

  /** Which of `userIds` blocked `blockedId`. */
  async blockersAmong(ex: Executor, blockedId: string, userIds: string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const r = await ex.select({ id: blocks.blockerId }).from(blocks).where(and(eq(blocks.blockedId, blockedId), inArray(blocks.blockerId, userIds)));
    return r.map((x) => x.id);
  },

  /** Who each of these users blocked (blocker → blocked ids). */
  async blockedBy(ex: Executor, blockerIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>(blockerIds.map((u) => [u, new Set<string>()]));
    if (blockerIds.length === 0) return out;
    const r = await ex.select({ by: blocks.blockerId, id: blocks.blockedId }).from(blocks).where(inArray(blocks.blockerId, [...blockerIds]));
    for (const x of r) out.get(x.by)?.add(x.id);
    return out;
  },

  async blockedByMe(ex: Executor, userId: string): Promise<string[]> {
    const r = await ex.select({ id: blocks.blockedId }).from(blocks).where(eq(blocks.blockerId, userId));
    return r.map((x) => x.id);
  },

  /** Takes the next message seq under the conversation row's lock (G1). */
  async nextSeq(ex: Executor, conversationId: string, at: Date): Promise<number> {
    const r = await rows<{ last_seq: number }>(
      ex,
      sql`update conversations set last_seq = last_seq + 1, last_message_at = ${at.toISOString()} where id = ${conversationId} returning last_seq`,
    );
    if (!r[0]) throw new AppError('chat.not_found', 'no such conversation');
    return Number(r[0].last_seq);
  },

  /**
   * appendMessage plus the ids of the conversation's members (the message's recipients), in one
   * statement: a system notice needs nothing else from the database.
   */
  async appendMessageToMembers(ex: Executor, m: Omit<MessageRow, 'seq'>): Promise<{ seq: number; memberIds: string[] }> {
    const r = await rows<{ seq: number | null; member_ids: unknown }>(
      ex,
      sql`with s as (update conversations set last_seq = last_seq + 1, last_message_at = ${m.createdAt.toISOString()} where id = ${m.conversationId} returning last_seq),
               ins as (insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at)
                       select ${m.conversationId}, s.last_seq, ${m.id}, ${m.clientId}, ${m.senderId}, ${m.kind}, ${m.text}, ${m.payload === null ? null : JSON.stringify(m.payload)}::jsonb,
                              ${m.replyToSeq}::bigint, ${m.forwarded}, ${m.createdAt.toISOString()}::timestamptz
                       from s
                       returning seq)
          select (select seq from ins) as seq, (select coalesce(json_agg(user_id), '[]'::json) from members where conversation_id = ${m.conversationId}) as member_ids`,
    );
    if (r[0]?.seq === null || r[0]?.seq === undefined) throw new AppError('chat.not_found', 'no such conversation');
    const ids = r[0].member_ids;
    return { seq: Number(r[0].seq), memberIds: (typeof ids === 'string' ? JSON.parse(ids) : ids) as string[] };
  },

  /**
   * Takes the conversation's next seq under its row lock (G1) and inserts the message at it, in one
   * statement; returns the seq. A missing conversation is chat.not_found.
   */
  async appendMessage(ex: Executor, m: Omit<MessageRow, 'seq'>): Promise<number> {
    const r = await rows<{ seq: number }>(
      ex,
      sql`with s as (update conversations set last_seq = last_seq + 1, last_message_at = ${m.createdAt.toISOString()} where id = ${m.conversationId} returning last_seq)
          insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at)
          select ${m.conversationId}, s.last_seq, ${m.id}, ${m.clientId}, ${m.senderId}, ${m.kind}, ${m.text}, ${m.payload === null ? null : JSON.stringify(m.payload)}::jsonb,
                 ${m.replyToSeq}::bigint, ${m.forwarded}, ${m.createdAt.toISOString()}::timestamptz
          from s
          returning seq`,
    );
    if (!r[0]) throw new AppError('chat.not_found', 'no such conversation');
    return Number(r[0].seq);
  },

  /** Inserts messages in one statement from one JSON document (cheap to bind for large batches). */
  async insertMessages(ex: Executor, list: MessageRow[]): Promise<void> {
    if (list.length === 0) return;
    await ex.execute(insertMessagesSql(list));
  },

  async messageByClientId(ex: Executor, conversationId: string, clientId: string): Promise<MessageRow | null> {
    const r = await ex.select(messageColumns).from(messages).where(and(eq(messages.conversationId, conversationId), eq(messages.clientId, clientId)));
    return (r[0] as MessageRow | undefined) ?? null;
  },

  async message(ex: Executor, conversationId: string, seq: number): Promise<MessageRow | null> {
    const r = await ex.select(messageColumns).from(messages).where(and(eq(messages.conversationId, conversationId), eq(messages.seq, seq)));
    return (r[0] as MessageRow | undefined) ?? null;
  },

  async messagesBySeq(ex: Executor, conversationId: string, seqs: number[]): Promise<MessageRow[]> {
    if (seqs.length === 0) return [];
    return (await ex.select(messageColumns).from(messages).where(and(eq(messages.conversationId, conversationId), inArray(messages.seq, seqs)))) as MessageRow[];
  },

  async updateMessage(ex: Executor, conversationId: string, seq: number, set: Partial<Pick<MessageRow, 'text' | 'payload' | 'editedAt' | 'deletedAt'>>): Promise<void> {
    await ex.update(messages).set(set as never).where(and(eq(messages.conversationId, conversationId), eq(messages.seq, seq)));
  },

  /** Marks a stored message as rewritten by the pre-send hook (safety). */
  async markRedacted(ex: Executor, conversationId: string, seq: number): Promise<void> {
    await ex.update(messages).set({ redacted: true }).where(and(eq(messages.conversationId, conversationId), eq(messages.seq, seq)));
  },

  async hideMessage(ex: Executor, userId: string, conversationId: string, seq: number): Promise<void> {
    await ex.insert(hiddenMessages).values({ userId, conversationId, seq }).onConflictDoNothing();
  },

  /** A page of history for one member, newest last; skips messages hidden for them. */
  async history(
    ex: Executor,
    q: { conversationId: string; userId: string; floorSeq: number; before?: number; after?: number; limit: number },
  ): Promise<MessageRow[]> {
    const fromOldest = q.after !== undefined && q.before === undefined;
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select m.conversation_id, m.seq, m.id, m.client_id, m.sender_id, m.kind, m.text, m.payload, m.reply_to_seq, m.forwarded,
                 m.created_at, m.edited_at, m.deleted_at, m.redacted
          from messages m
          where m.conversation_id = ${q.conversationId}
            and m.seq > ${Math.max(q.floorSeq, q.after ?? 0)}
            ${q.before !== undefined ? sql`and m.seq < ${q.before}` : sql``}
            and not exists (select 1 from hidden_messages h where h.user_id = ${q.userId} and h.conversation_id = m.conversation_id and h.seq = m.seq)
          order by m.seq ${fromOldest ? sql`asc` : sql`desc`}
          limit ${q.limit}`,
    );
    const list = r.map(messageFromRaw);
    return fromOldest ? list : list.reverse();
  },

  async reactions(ex: Executor, conversationId: string, seqs: number[]): Promise<Array<{ seq: number; userId: string; emoji: string }>> {
    if (seqs.length === 0) return [];
    return ex
      .select({ seq: reactions.seq, userId: reactions.userId, emoji: reactions.emoji })
      .from(reactions)
      .where(and(eq(reactions.conversationId, conversationId), inArray(reactions.seq, seqs)))
      .orderBy(reactions.createdAt);
  },

  async setReaction(ex: Executor, r: { conversationId: string; seq: number; userId: string; emoji: string }, on: boolean): Promise<boolean> {
    if (on) {
      const x = await ex.insert(reactions).values(r).onConflictDoNothing().returning({ s: reactions.seq });
      return x.length === 1;
    }
    const x = await ex
      .delete(reactions)
      .where(and(eq(reactions.conversationId, r.conversationId), eq(reactions.seq, r.seq), eq(reactions.userId, r.userId), eq(reactions.emoji, r.emoji)))
      .returning({ s: reactions.seq });
    return x.length === 1;
  },

  async deleteReactions(ex: Executor, conversationId: string, seq: number): Promise<void> {
    await ex.delete(reactions).where(and(eq(reactions.conversationId, conversationId), eq(reactions.seq, seq)));
  },

  /** The user's conversations, most recent activity first. */
  async listForUser(ex: Executor, userId: string, q: { archived: boolean; limit: number; before?: string }): Promise<Array<ConversationRow & { me: MemberRow }>> {
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select c.id, c.kind, c.direct_key, c.title, c.context, c.last_seq, c.last_message_at, c.created_at,
                 m.role, m.last_read_seq, m.last_delivered_seq, m.muted, m.archived, m.joined_seq
          from members m join conversations c on c.id = m.conversation_id
          where m.user_id = ${userId} and m.archived = ${q.archived}
            ${q.before ? sql`and coalesce(c.last_message_at, c.created_at) < ${q.before}` : sql``}
          order by coalesce(c.last_message_at, c.created_at) desc
          limit ${q.limit}`,
    );
    return r.map((x) => ({
      id: x.id as string,
      kind: x.kind as 'direct' | 'group',
      directKey: x.direct_key as string | null,
      title: x.title as string | null,
      context: parseJson(x.context) as ConversationContext | null,
      lastSeq: Number(x.last_seq),
      lastMessageAt: toDate(x.last_message_at),
      createdAt: toDate(x.created_at)!,
      me: {
        userId,
        role: x.role as MemberRole,
        lastReadSeq: Number(x.last_read_seq),
        lastDeliveredSeq: Number(x.last_delivered_seq),
        muted: Boolean(x.muted),
        archived: Boolean(x.archived),
        joinedSeq: Number(x.joined_seq),
      },
    }));
  },

  async membersOfMany(ex: Executor, conversationIds: string[]): Promise<Array<MemberRow & { conversationId: string }>> {
    if (conversationIds.length === 0) return [];
    return ex
      .select({
        conversationId: members.conversationId,
        userId: members.userId,
        role: members.role,
        lastReadSeq: members.lastReadSeq,
        lastDeliveredSeq: members.lastDeliveredSeq,
        muted: members.muted,
        archived: members.archived,
        joinedSeq: members.joinedSeq,
      })
      .from(members)
      .where(inArray(members.conversationId, conversationIds));
  },

  /** The newest message of each conversation that this user can see. */
  /**
   * The last message of each conversation that each viewer can see (not hidden "for me"), in one
   * query for any number of viewers (a conversation's update goes to all its members at once).
   */
  async lastMessages(ex: Executor, viewerIds: readonly string[], convs: Array<{ id: string; lastSeq: number }>): Promise<Array<MessageRow & { viewerId: string }>> {
    const withMessages = convs.filter((c) => c.lastSeq > 0);
    if (withMessages.length === 0 || viewerIds.length === 0) return [];
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select v.id as viewer_id, l.* from unnest(${pgTextArray(viewerIds)}::text[]) as v(id)
          cross join unnest(${pgTextArray(withMessages.map((c) => c.id))}::text[]) as cid(id)
          cross join lateral (
            select m.conversation_id, m.seq, m.id, m.client_id, m.sender_id, m.kind, m.text, m.payload, m.reply_to_seq, m.forwarded,
                   m.created_at, m.edited_at, m.deleted_at, m.redacted
            from messages m
            where m.conversation_id = cid.id
              and not exists (select 1 from hidden_messages h where h.user_id = v.id and h.conversation_id = m.conversation_id and h.seq = m.seq)
            order by m.seq desc limit 1) l`,
    );
    return r.map((x) => ({ ...messageFromRaw(x), viewerId: String(x.viewer_id) }));
  },

  /** Full-text search over the user's conversations (PostgreSQL `simple` config: works for Azerbaijani and English). */
  async search(ex: Executor, userId: string, q: { query: string; conversationId?: string; limit: number }): Promise<MessageRow[]> {
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select m.conversation_id, m.seq, m.id, m.client_id, m.sender_id, m.kind, m.text, m.payload, m.reply_to_seq, m.forwarded,
                 m.created_at, m.edited_at, m.deleted_at, m.redacted
          from messages m join members mb on mb.conversation_id = m.conversation_id and mb.user_id = ${userId}
          where m.search_vector @@ plainto_tsquery('simple', ${q.query})
            and m.deleted_at is null and m.seq > mb.joined_seq
            ${q.conversationId ? sql`and m.conversation_id = ${q.conversationId}` : sql``}
            and not exists (select 1 from hidden_messages h where h.user_id = ${userId} and h.conversation_id = m.conversation_id and h.seq = m.seq)
          order by m.created_at desc
          limit ${q.limit}`,
    );
    return r.map(messageFromRaw);
  },

  /** Users who share a direct conversation with `userId` and are not blocked by them (who see their presence). */
  async contacts(ex: Executor, userId: string): Promise<string[]> {
    const r = await rows<{ user_id: string }>(
      ex,
      sql`select distinct o.user_id from members me
          join conversations c on c.id = me.conversation_id and c.kind = 'direct'
          join members o on o.conversation_id = me.conversation_id and o.user_id <> me.user_id
          where me.user_id = ${userId}
            and not exists (select 1 from blocks b where b.blocker_id = me.user_id and b.blocked_id = o.user_id)`,
    );
    return r.map((x) => x.user_id);
  },
};

function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : (v ?? null);
}
function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(String(v));
}
function messageFromRaw(x: Record<string, unknown>): MessageRow {
  return {
    conversationId: x.conversation_id as string,
    seq: Number(x.seq),
    id: x.id as string,
    clientId: (x.client_id as string | null) ?? null,
    senderId: (x.sender_id as string | null) ?? null,
    kind: x.kind as MessageKind,
    text: (x.text as string | null) ?? null,
    payload: parseJson(x.payload) as MessagePayload | null,
    replyToSeq: x.reply_to_seq === null || x.reply_to_seq === undefined ? null : Number(x.reply_to_seq),
    forwarded: Boolean(x.forwarded),
    createdAt: toDate(x.created_at)!,
    editedAt: toDate(x.edited_at),
    deletedAt: toDate(x.deleted_at),
    redacted: Boolean(x.redacted),
  };
}

/** What SendBatcher reads before it writes (chatRepo.sendContext). */
export interface SendContext {
  members: Array<{ conversationId: string; userId: string; joinedSeq: number }>;
  priors: Array<{ conversationId: string; clientId: string }>;
  /** Senders whose direct conversation's peer blocked them. */
  blocked: Array<{ conversationId: string; userId: string }>;
  replies: Array<{ conversationId: string; seq: number; senderId: string | null; text: string | null; deleted: boolean }>;
}

function insertMessagesSql(list: MessageRow[]) {
  const doc = JSON.stringify(
    list.map((m) => ({
      conversation_id: m.conversationId, seq: m.seq, id: m.id, client_id: m.clientId, sender_id: m.senderId, kind: m.kind, text: m.text,
      payload: m.payload, reply_to_seq: m.replyToSeq, forwarded: m.forwarded, created_at: m.createdAt.toISOString(),
    })),
  );
  return sql`insert into messages (conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at)
    select conversation_id, seq, id, client_id, sender_id, kind, text, payload, reply_to_seq, forwarded, created_at
    from jsonb_to_recordset(${doc}::jsonb) as x(conversation_id text, seq bigint, id text, client_id text, sender_id text, kind text, text text,
                                               payload jsonb, reply_to_seq bigint, forwarded boolean, created_at timestamptz)`;
}

/** `with locked as (…), raised as (update … returning …)`: the member rows locked in order, then raised. */
function raiseMarksLockedSql(marks: Array<{ conversationId: string; userId: string; read: number; delivered: number }>) {
  return sql`with n as (select * from unnest(${pgTextArray(marks.map((x) => x.conversationId))}::text[], ${pgTextArray(marks.map((x) => x.userId))}::text[],
                                      ${pgIntArray(marks.map((x) => x.read))}::bigint[], ${pgIntArray(marks.map((x) => x.delivered))}::bigint[]) n(cid, uid, rd, dl)),
    locked as materialized (select m.conversation_id, m.user_id from members m join n on m.conversation_id = n.cid and m.user_id = n.uid
                            order by m.conversation_id, m.user_id for update of m),
    raised as (update members m set
        last_read_seq = greatest(m.last_read_seq, least(n.rd, c.last_seq)),
        last_delivered_seq = greatest(m.last_delivered_seq, least(greatest(n.dl, n.rd), c.last_seq))
      from n, conversations c, locked l
      where l.conversation_id = n.cid and l.user_id = n.uid and c.id = n.cid and m.conversation_id = n.cid and m.user_id = n.uid
        and (m.last_read_seq < least(n.rd, c.last_seq) or m.last_delivered_seq < least(greatest(n.dl, n.rd), c.last_seq))
      returning m.conversation_id, m.user_id, m.last_read_seq, m.last_delivered_seq)`;
}
