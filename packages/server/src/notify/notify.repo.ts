import { and, eq, sql as dsql, type SQL } from 'drizzle-orm';
import type { DeviceKind, OutboxState } from '@sohbet/protocol';
import { pgTextArray, rows, sql, type Executor } from '../db/db.ts';
import { notifyDevices, notifyOutbox, notifyPrefs } from '../db/schema.ts';
import { DEFAULT_PREFS, type NotifyPayload, type OutboxChannel, type OutboxKind, type Prefs } from './notify.domain.ts';

export interface DeviceRow {
  id: string;
  userId: string;
  kind: DeviceKind;
  token: string;
  keys: { p256dh: string; auth: string } | null;
  createdAt: Date;
}

export interface OutboxRow {
  id: number;
  idempotencyKey: string;
  userId: string;
  kind: OutboxKind;
  channel: OutboxChannel;
  deviceId: string | null;
  target: string;
  conversationId: string | null;
  collapseKey: string | null;
  priority: 'high' | 'normal';
  payload: NotifyPayload;
  state: OutboxState;
  reason: string | null;
  attempts: number;
  nextAttemptAt: Date;
  providerId: string | null;
  createdAt: Date;
  acceptedAt: Date | null;
  deliveredAt: Date | null;
  displayedAt: Date | null;
}

/** A ring (call_incoming row) of a call, to drop or stop once the call moves on. */
export type RingRow = Pick<OutboxRow, 'id' | 'state' | 'deviceId' | 'channel' | 'target'> & { keys: unknown };

export type NewOutboxRow = Pick<OutboxRow, 'idempotencyKey' | 'userId' | 'kind' | 'channel' | 'deviceId' | 'target' | 'conversationId' | 'collapseKey' | 'priority' | 'payload'> & {
  dueAt: Date;
  /** Web Push keys travel with the row so a send needs no extra lookup. */
  keys?: { p256dh: string; auth: string } | null;
};

/** A finished attempt, written back in one statement per batch. */
export interface Finish {
  id: number;
  state: OutboxState;
  reason: string | null;
  providerId?: string | null;
  nextAt?: Date;
  /** The claim counted an attempt that was not one (quiet hours deferral): give it back. */
  notAnAttempt?: boolean;
}

const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
const date = (v: unknown) => (v == null ? null : v instanceof Date ? v : new Date(String(v)));

function toOutbox(r: Record<string, unknown>): OutboxRow {
  return {
    id: Number(r.id),
    idempotencyKey: r.idempotency_key as string,
    userId: r.user_id as string,
    kind: r.kind as OutboxKind,
    channel: r.channel as OutboxChannel,
    deviceId: (r.device_id as string | null) ?? null,
    target: r.target as string,
    conversationId: (r.conversation_id as string | null) ?? null,
    collapseKey: (r.collapse_key as string | null) ?? null,
    priority: r.priority as 'high' | 'normal',
    payload: parse(r.payload) as NotifyPayload,
    state: r.state as OutboxState,
    reason: (r.reason as string | null) ?? null,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at)!,
    providerId: (r.provider_id as string | null) ?? null,
    createdAt: date(r.created_at)!,
    acceptedAt: date(r.accepted_at),
    deliveredAt: date(r.delivered_at),
    displayedAt: date(r.displayed_at),
  };
}

export function prefsOf(r: typeof notifyPrefs.$inferSelect | undefined | null): Prefs {
  if (!r) return DEFAULT_PREFS;
  return {
    locale: r.locale,
    channels: { ...DEFAULT_PREFS.channels, ...(parse(r.channels) as object) },
    kinds: { ...DEFAULT_PREFS.kinds, ...(parse(r.kinds) as object) },
    quietHours: { start: r.quietStart, end: r.quietEnd },
    timeZone: r.timeZone,
    email: r.email,
    phone: r.phone,
  };
}

export const notifyRepo = {
  async upsertDevice(ex: Executor, d: { id: string; userId: string; kind: DeviceKind; token: string; keys: unknown; now: Date }): Promise<DeviceRow> {
    // A token that moves to another account (sign out, sign in as someone else) follows the new user.
    const [r] = await ex
      .insert(notifyDevices)
      .values({ id: d.id, userId: d.userId, kind: d.kind, token: d.token, keys: d.keys, createdAt: d.now, updatedAt: d.now })
      .onConflictDoUpdate({ target: [notifyDevices.kind, notifyDevices.token], set: { userId: d.userId, keys: d.keys, updatedAt: d.now } })
      .returning();
    return r as DeviceRow;
  },

  async devices(ex: Executor, userId: string): Promise<DeviceRow[]> {
    return (await ex.select().from(notifyDevices).where(eq(notifyDevices.userId, userId)).orderBy(notifyDevices.createdAt)) as DeviceRow[];
  },

  async devicesOfMany(ex: Executor, userIds: string[]): Promise<DeviceRow[]> {
    if (!userIds.length) return [];
    const r = await rows<Record<string, unknown>>(ex, sql`select id, user_id, kind, token, keys from notify_devices where user_id = any(${pgTextArray(userIds)}::text[])`);
    return r.map((x) => ({ id: x.id as string, userId: x.user_id as string, kind: x.kind as DeviceKind, token: x.token as string, keys: parse(x.keys) as DeviceRow['keys'], createdAt: new Date(0) }));
  },

  /** One round trip for the message rules: the recipients' devices and which conversations are support chats (→ customer). */
  /**
   * One read for the rules: the users' devices, the support chats among the conversations (their
   * customers), and the ring rows of calls that moved on (to stop them), as one json value. A
   * scalar query, so the event log can run it inside its append statement.
   */
  devicesSupportRingsSql(userIds: string[], conversationIds: string[], rang: Array<{ userId: string; callId: string }>): SQL {
    const none = dsql`'[]'::json`;
    const devices = userIds.length
      ? dsql`(select coalesce(json_agg(json_build_array(id, user_id, kind, token, keys)), '[]'::json) from notify_devices where user_id = any(${pgTextArray(userIds)}::text[]))`
      : none;
    const support = conversationIds.length
      ? dsql`(select coalesce(json_agg(json_build_array(conversation_id, customer_id)), '[]'::json) from support_chats where conversation_id = any(${pgTextArray(conversationIds)}::text[]))`
      : none;
    const rings = rang.length
      ? dsql`(select coalesce(json_agg(json_build_array(o.user_id, o.payload->>'callId', o.id, o.state, o.device_id, o.channel, o.target, o.payload->'keys')), '[]'::json)
              from unnest(${pgTextArray(rang.map((r) => r.userId))}::text[], ${pgTextArray(rang.map((r) => r.callId))}::text[]) as k(u, c)
              join notify_outbox o on o.user_id = k.u and o.kind = 'call_incoming' and o.payload->>'callId' = k.c)`
      : none;
    return dsql`select json_build_array(${devices}, ${support}, ${rings})`;
  },

  /** `devicesSupportRingsSql`'s value read back; rings are keyed by `${userId}\n${callId}`. */
  parseDevicesSupportRings(value: unknown): { devices: DeviceRow[]; support: Map<string, string>; rings: Map<string, RingRow[]> } {
    const [d, s, r] = parse(value) as [unknown[][], string[][], unknown[][]];
    const devices = d.map((x) => ({ id: x[0] as string, userId: x[1] as string, kind: x[2] as DeviceKind, token: x[3] as string, keys: (parse(x[4]) ?? null) as DeviceRow['keys'], createdAt: new Date(0) }));
    const support = new Map(s.map(([conv, customer]) => [conv!, customer!]));
    const rings = new Map<string, RingRow[]>();
    for (const x of r) {
      const key = `${x[0] as string}\n${x[1] as string}`;
      let list = rings.get(key);
      if (!list) rings.set(key, (list = []));
      list.push({ id: Number(x[2]), state: x[3] as OutboxState, deviceId: (x[4] ?? null) as string | null, channel: x[5] as OutboxChannel, target: x[6] as string, keys: parse(x[7]) ?? null });
    }
    return { devices, support, rings };
  },

  /**
   * The incoming-call rings of ringing calls as one `insert … returning` (for the event log's
   * one-statement writes): per callee device, what `enqueue` stores for `callRows`' ringing branch —
   * a VoIP token rings instead of the same phone's APNs token, the caller's name in the payload,
   * web push keys beside it; `applied` is the write's condition.
   */
  ringsSql(calls: Array<{ userId: string; call: { id: string; conversationId: string; callerId: string; media: string } }>, now: Date, applied: SQL): SQL {
    const list = JSON.stringify(calls.map((c) => ({ user_id: c.userId, call_id: c.call.id, conversation_id: c.call.conversationId, caller_id: c.call.callerId, media: c.call.media })));
    const at = now.toISOString();
    return dsql`insert into notify_outbox (idempotency_key, user_id, kind, channel, device_id, target, conversation_id, collapse_key, priority, payload, next_attempt_at, created_at, updated_at)
      select 'call:' || c.call_id || ':ring:' || d.id, d.user_id, 'call_incoming', d.kind, d.id, d.token, c.conversation_id, null, 'high',
             jsonb_build_object('type', 'call_incoming', 'callId', c.call_id, 'conversationId', c.conversation_id, 'callerId', c.caller_id,
                                'callerName', coalesce((select u.name from users u where u.id = c.caller_id), c.caller_id), 'media', c.media)
               || case when d.keys is null or jsonb_typeof(d.keys) = 'null' then '{}'::jsonb else jsonb_build_object('keys', d.keys) end,
             ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
      from jsonb_to_recordset(${list}::jsonb) as c(user_id text, call_id text, conversation_id text, caller_id text, media text)
      join notify_devices d on d.user_id = c.user_id
      where ${applied}
        and not (d.kind = 'apns' and exists (select 1 from notify_devices v where v.user_id = d.user_id and v.kind = 'apns_voip'))
      on conflict (idempotency_key) do nothing
      returning id`;
  },

  async devicesSupportRings(ex: Executor, userIds: string[], conversationIds: string[], rang: Array<{ userId: string; callId: string }>) {
    const r = await rows<{ v: unknown }>(ex, dsql`select (${this.devicesSupportRingsSql(userIds, conversationIds, rang)}) as v`);
    return this.parseDevicesSupportRings(r[0]!.v);
  },

  async removeDevice(ex: Executor, userId: string, deviceId: string): Promise<boolean> {
    const r = await ex.delete(notifyDevices).where(and(eq(notifyDevices.id, deviceId), eq(notifyDevices.userId, userId))).returning({ id: notifyDevices.id });
    return r.length === 1;
  },

  /** The provider said the token is dead: forget the device and drop what still waits for it. */
  async dropDevices(ex: Executor, deviceIds: string[], now: Date): Promise<void> {
    if (!deviceIds.length) return;
    const ids = pgTextArray(deviceIds);
    await ex.execute(sql`delete from notify_devices where id = any(${ids}::text[])`);
    await ex.execute(
      sql`update notify_outbox set state = 'skipped', reason = 'device_removed', updated_at = ${now.toISOString()}
          where state = 'queued' and device_id = any(${ids}::text[])`,
    );
  },

  async prefs(ex: Executor, userId: string): Promise<Prefs> {
    const [r] = await ex.select().from(notifyPrefs).where(eq(notifyPrefs.userId, userId));
    return prefsOf(r);
  },

  async prefsOfMany(ex: Executor, userIds: string[]): Promise<Map<string, Prefs>> {
    const out = new Map<string, Prefs>();
    if (!userIds.length) return out;
    const r = await ex.select().from(notifyPrefs).where(dsql`${notifyPrefs.userId} = any(${pgTextArray(userIds)}::text[])`);
    for (const p of r) out.set(p.userId, prefsOf(p));
    return out;
  },

  async savePrefs(ex: Executor, userId: string, p: Prefs, now: Date): Promise<void> {
    const v = { locale: p.locale, email: p.email, phone: p.phone, channels: p.channels, kinds: p.kinds, quietStart: p.quietHours.start, quietEnd: p.quietHours.end, timeZone: p.timeZone, updatedAt: now };
    await ex.insert(notifyPrefs).values({ userId, ...v }).onConflictDoUpdate({ target: notifyPrefs.userId, set: v });
  },

  /**
   * Adds rows, skipping any whose idempotency key exists (a replay adds nothing). Queued rows with a
   * collapse key of a new row are superseded: one pending push per conversation and device.
   */
  async enqueue(ex: Executor, list: NewOutboxRow[], now: Date): Promise<number> {
    if (!list.length) return 0;
    const keys = [...new Set(list.flatMap((r) => (r.collapseKey ? [r.collapseKey] : [])))];
    if (keys.length)
      await ex.execute(
        sql`update notify_outbox set state = 'skipped', reason = 'collapsed', updated_at = ${now.toISOString()}
            where state = 'queued' and collapse_key = any(${pgTextArray(keys)}::text[])`,
      );
    const values = list.map((r) => ({
      idempotencyKey: r.idempotencyKey,
      userId: r.userId,
      kind: r.kind,
      channel: r.channel,
      deviceId: r.deviceId,
      target: r.target,
      conversationId: r.conversationId,
      collapseKey: r.collapseKey,
      priority: r.priority,
      payload: r.keys ? { ...r.payload, keys: r.keys } : r.payload,
      nextAttemptAt: r.dueAt,
      createdAt: now,
      updatedAt: now,
    }));
    const out = await ex.insert(notifyOutbox).values(values).onConflictDoNothing({ target: notifyOutbox.idempotencyKey }).returning({ id: notifyOutbox.id });
    return out.length;
  },

  /** Claims due rows (and rows whose lease ran out: their worker died) for one attempt each. */
  async claim(ex: Executor, now: Date, leaseUntil: Date, limit: number): Promise<OutboxRow[]> {
    const n = now.toISOString();
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`update notify_outbox o set state = 'sending', lease_until = ${leaseUntil.toISOString()}, attempts = o.attempts + 1, updated_at = ${n}
          where o.id in (
            select id from notify_outbox
            where (state = 'queued' and next_attempt_at <= ${n}) or (state = 'sending' and lease_until <= ${n})
            order by next_attempt_at, id limit ${limit} for update skip locked)
          returning o.*`,
    );
    return r.map(toOutbox).sort((a, b) => a.id - b.id);
  },

  /** Writes a batch of outcomes; only rows still in the state this worker left them in change (a stale worker cannot overwrite). */
  async finish(ex: Executor, list: Finish[], now: Date, from: OutboxState = 'sending'): Promise<void> {
    if (!list.length) return;
    const json = JSON.stringify(list.map((f) => ({ id: f.id, state: f.state, reason: f.reason, provider_id: f.providerId ?? null, next_at: f.nextAt?.toISOString() ?? null, refund: f.notAnAttempt ? 1 : 0 })));
    const n = now.toISOString();
    await ex.execute(
      sql`update notify_outbox o set state = x.state, reason = x.reason,
            provider_id = coalesce(x.provider_id, o.provider_id),
            next_attempt_at = coalesce(x.next_at, o.next_attempt_at),
            attempts = greatest(o.attempts - coalesce(x.refund, 0), 0),
            accepted_at = case when x.state in ('accepted', 'delivered') and o.accepted_at is null then ${n}::timestamptz else o.accepted_at end,
            delivered_at = case when x.state = 'delivered' then ${n}::timestamptz else o.delivered_at end,
            lease_until = null, updated_at = ${n}
          from jsonb_to_recordset(${json}::jsonb) as x(id bigint, state text, reason text, provider_id text, next_at timestamptz, refund int)
          where o.id = x.id and o.state = ${from}`,
    );
  },

  /** Accepted rows of a channel whose receipt is due (Expo: tickets → receipts). */
  async awaitingReceipt(ex: Executor, channel: OutboxChannel, acceptedBefore: Date, limit: number): Promise<OutboxRow[]> {
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select * from notify_outbox where state = 'accepted' and channel = ${channel} and accepted_at <= ${acceptedBefore.toISOString()} and provider_id is not null
          order by accepted_at limit ${limit}`,
    );
    return r.map(toOutbox);
  },

  /**
   * A provider's delivery report. Found by row id (Twilio: the id rides in the callback URL, so a
   * report that beats the worker's own write still lands) or by the provider's message id (Resend).
   * Only a row that left (sending/accepted; delivered for a later failure or complaint) changes, and
   * a provider id must match the one recorded; returns the row's user, or null when nothing matched.
   */
  async report(ex: Executor, r: { channel: OutboxChannel; id?: number; providerId: string; state: 'delivered' | 'dead'; reason: string | null; now: Date }): Promise<{ id: number; userId: string } | null> {
    const n = r.now.toISOString();
    const found = await rows<{ id: number; user_id: string }>(
      ex,
      sql`update notify_outbox set state = ${r.state}, reason = coalesce(${r.reason}, reason), provider_id = coalesce(provider_id, ${r.providerId}),
            accepted_at = coalesce(accepted_at, ${n}), lease_until = null,
            delivered_at = case when ${r.state} = 'delivered' then coalesce(delivered_at, ${n}::timestamptz) else delivered_at end, updated_at = ${n}
          where channel = ${r.channel} and state in ('sending', 'accepted', 'delivered')
            and ${r.id === undefined ? sql`provider_id = ${r.providerId}` : sql`id = ${r.id} and (provider_id is null or provider_id = ${r.providerId})`}
          returning id, user_id`,
    );
    return found[0] ? { id: Number(found[0].id), userId: found[0].user_id } : null;
  },

  /** The recipient reported email as spam: no more email to them until they turn it on again. */
  async disableEmail(ex: Executor, userId: string, now: Date): Promise<void> {
    const p = await notifyRepo.prefs(ex, userId);
    await notifyRepo.savePrefs(ex, userId, { ...p, channels: { ...p.channels, email: false } }, now);
  },

  /** Read position and mute flag of (user, conversation) pairs. */
  async memberStates(ex: Executor, pairs: Array<{ userId: string; conversationId: string }>): Promise<Map<string, { lastReadSeq: number; muted: boolean }>> {
    const out = new Map<string, { lastReadSeq: number; muted: boolean }>();
    if (!pairs.length) return out;
    const r = await rows<{ conversation_id: string; user_id: string; last_read_seq: number; muted: boolean }>(
      ex,
      sql`select conversation_id, user_id, last_read_seq, muted from members
          where user_id = any(${pgTextArray(pairs.map((p) => p.userId))}::text[]) and conversation_id = any(${pgTextArray(pairs.map((p) => p.conversationId))}::text[])`,
    );
    for (const x of r) out.set(`${x.user_id}\u0000${x.conversation_id}`, { lastReadSeq: Number(x.last_read_seq), muted: Boolean(x.muted) });
    return out;
  },

  /** G4: the badge is the sum of last_seq − last_read_seq over the user's unmuted conversations — the in-app numbers. */
  async badges(ex: Executor, userIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!userIds.length) return out;
    const r = await rows<{ user_id: string; n: number }>(
      ex,
      sql`select m.user_id, coalesce(sum(greatest(c.last_seq - m.last_read_seq, 0)), 0)::int as n
          from members m join conversations c on c.id = m.conversation_id
          where m.user_id = any(${pgTextArray(userIds)}::text[]) and not m.muted group by m.user_id`,
    );
    for (const x of r) out.set(x.user_id, Number(x.n));
    return out;
  },

  async list(ex: Executor, q: { state?: OutboxState; userId?: string; limit: number; beforeId?: number }): Promise<OutboxRow[]> {
    const r = await rows<Record<string, unknown>>(
      ex,
      sql`select * from notify_outbox where true
            ${q.state ? sql`and state = ${q.state}` : sql``}
            ${q.userId ? sql`and user_id = ${q.userId}` : sql``}
            ${q.beforeId ? sql`and id < ${q.beforeId}` : sql``}
          order by id desc limit ${q.limit}`,
    );
    return r.map(toOutbox);
  },

  async countByState(ex: Executor): Promise<Record<string, number>> {
    const r = await rows<{ state: string; n: number }>(ex, sql`select state, count(*)::int as n from notify_outbox group by state`);
    return Object.fromEntries(r.map((x) => [x.state, Number(x.n)]));
  },

  async ackDisplay(ex: Executor, userId: string, id: number, now: Date): Promise<boolean> {
    const r = await rows<{ id: number }>(
      ex,
      sql`update notify_outbox set displayed_at = coalesce(displayed_at, ${now.toISOString()}),
            state = case when state = 'accepted' then 'delivered' else state end,
            delivered_at = coalesce(delivered_at, ${now.toISOString()}), updated_at = ${now.toISOString()}
          where id = ${id} and user_id = ${userId} and state in ('accepted', 'delivered') returning id`,
    );
    return r.length === 1;
  },

  /**
   * A read up to `seq`: queued pushes for it are dropped now, and pushes already sent are marked
   * cleared; returns the targets that got one, so each device receives one badge/clear follow-up.
   */
  async clearForRead(ex: Executor, userId: string, conversationId: string, seq: number, now: Date): Promise<Array<Pick<OutboxRow, 'deviceId' | 'channel' | 'target'> & { keys: unknown }>> {
    const n = now.toISOString();
    await ex.execute(
      sql`update notify_outbox set state = 'skipped', reason = 'read', cleared_at = ${n}, updated_at = ${n}
          where user_id = ${userId} and conversation_id = ${conversationId} and cleared_at is null and kind in ('message', 'support_reply')
            and state = 'queued' and (payload->>'seq')::bigint <= ${seq}`,
    );
    const r = await rows<{ device_id: string | null; channel: OutboxChannel; target: string; keys: unknown }>(
      ex,
      sql`update notify_outbox set cleared_at = ${n}
          where user_id = ${userId} and conversation_id = ${conversationId} and cleared_at is null and kind in ('message', 'support_reply')
            and state in ('sending', 'accepted', 'delivered') and (payload->>'seq')::bigint <= ${seq}
          returning device_id, channel, target, payload->'keys' as keys`,
    );
    const seen = new Set<string>();
    return r
      .filter((x) => x.device_id && !seen.has(x.device_id) && seen.add(x.device_id))
      .map((x) => ({ deviceId: x.device_id, channel: x.channel, target: x.target, keys: parse(x.keys) }));
  },

  /** The incoming-call rows of a call for its callee (to stop ringing on the same devices). */
  async skip(ex: Executor, ids: number[], reason: string, now: Date): Promise<void> {
    if (!ids.length) return;
    await ex.execute(
      sql`update notify_outbox set state = 'skipped', reason = ${reason}, updated_at = ${now.toISOString()}
          where state = 'queued' and id = any(${`{${ids.join(',')}}`}::bigint[])`,
    );
  },

  async names(ex: Executor, userIds: string[]): Promise<Map<string, string>> {
    if (!userIds.length) return new Map();
    const r = await rows<{ id: string; name: string }>(ex, sql`select id, name from users where id = any(${pgTextArray(userIds)}::text[])`);
    return new Map(r.map((x) => [x.id, x.name]));
  },

  async conversationTitles(ex: Executor, conversationIds: string[]): Promise<Map<string, string | null>> {
    if (!conversationIds.length) return new Map();
    const r = await rows<{ id: string; title: string | null; kind: string }>(ex, sql`select id, title, kind from conversations where id = any(${pgTextArray(conversationIds)}::text[])`);
    return new Map(r.map((x) => [x.id, x.kind === 'group' ? x.title : null]));
  },
};
