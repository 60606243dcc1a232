import type { CallDTO, DurableEventMap, MessageDTO } from '@sohbet/protocol';
import type { Clock } from '../core/clock.ts';
import type { SQL } from 'drizzle-orm';
import type { Tx } from '../db/db.ts';
import type { Delivery } from '../realtime/bus.ts';
import type { Addressed } from '../realtime/event-log.ts';
import type { NotifyPayload, OutboxKind, Prefs } from './notify.domain.ts';
import { DEFAULT_PREFS } from './notify.domain.ts';
import { notifyRepo as repo, type DeviceRow, type NewOutboxRow, type RingRow } from './notify.repo.ts';

/**
 * Event → outbox rules, run by the EventLog inside the transaction that stores the events
 * (an event and its notifications commit together; a replayed write adds nothing: idempotency keys).
 * Only cheap decisions happen here; the send-time checks (read since? active? quiet hours?) run in the worker.
 */
/** The deliveries the rules act on, by kind (a pure pass over the events). */
function classify(deliveries: readonly Addressed[]) {
  const messages: Array<{ userId: string; message: MessageDTO }> = [];
  const calls: Array<{ userId: string; call: CallDTO }> = [];
  const reads: Array<DurableEventMap['chat.receipt']> = [];
  for (const dl of deliveries) {
    const e = dl.event;
    if (e.type === 'chat.message.created') {
      const m = e.data.message;
      if (m.senderId && m.senderId !== dl.userId && m.kind !== 'system' && !m.deletedAt) messages.push({ userId: dl.userId, message: m });
    } else if (e.type === 'call.updated') {
      if (e.data.call.calleeId === dl.userId) calls.push({ userId: dl.userId, call: e.data.call });
    } else if (e.type === 'chat.receipt') {
      // Each member gets the reader's receipt; only the reader's own copy concerns the reader's badge.
      if (e.data.userId === dl.userId) reads.push(e.data);
    }
  }
  const userIds = [...new Set([...messages.map((m) => m.userId), ...calls.map((c) => c.userId), ...reads.map((r) => r.userId)])];
  const convIds = [...new Set(messages.map((m) => m.message.conversationId))];
  // Calls past ringing look up the rings they sent (to stop them).
  const rang = calls.filter((c) => c.call.state !== 'ringing').map((c) => ({ userId: c.userId, callId: c.call.id }));
  return { messages, calls, reads, userIds, convIds, rang };
}

/**
 * Event → outbox rules as an EventLog observer. Their one read (devices, support chats, the
 * rings of calls that moved on) runs inside the event append statement, so a write whose
 * recipients have no device costs no extra round trip.
 */
export function notifyRules(d: { clock: Clock; messageDelayMs: number }) {
  return {
    read(deliveries: readonly Addressed[]): SQL | null {
      const c = classify(deliveries);
      if (!c.userIds.length) return null;
      return repo.devicesSupportRingsSql(c.userIds, c.convIds, c.rang);
    },
    run: (tx: Tx, deliveries: readonly Delivery[], read: unknown): Promise<number> => apply(d, tx, deliveries, read),
    /**
     * A ringing call's rules in SQL (the rings to the callee's devices: `callRows` for a ringing call),
     * so the start is one statement; anything else is left to `run` in a transaction.
     */
    inline(deliveries: readonly Addressed[], applied: SQL): SQL | null | undefined {
      const c = classify(deliveries);
      if (!c.messages.length && !c.calls.length && !c.reads.length) return null;
      if (c.messages.length || c.reads.length || c.calls.some((x) => x.call.state !== 'ringing')) return undefined;
      return repo.ringsSql(c.calls.map((x) => ({ userId: x.userId, call: x.call })), d.clock.now(), applied);
    },
  };
}

async function apply(d: { clock: Clock; messageDelayMs: number }, tx: Tx, deliveries: readonly Delivery[], read: unknown): Promise<number> {
  const { messages, calls, reads, userIds, convIds, rang: rangKeys } = classify(deliveries);
  if (!messages.length && !calls.length && !reads.length) return 0;

  const now = d.clock.now();
  // Normally folded into the append statement (see `read`); read here only without it.
  const found = read ? repo.parseDevicesSupportRings(read) : await repo.devicesSupportRings(tx, userIds, convIds, rangKeys);
  const devices = groupBy(found.devices, (x) => x.userId);
  const support = found.support;
  const out: NewOutboxRow[] = [];

  if (messages.length) {
    // Email is the support fallback for customers without a device: only then are prefs needed here.
    const needPrefs = messages.filter((m) => support.get(m.message.conversationId) === m.userId && !devices.get(m.userId)?.length).map((m) => m.userId);
    const hasWork = messages.some((m) => devices.get(m.userId)?.length) || needPrefs.length > 0;
    if (hasWork) {
      const prefs = await repo.prefsOfMany(tx, needPrefs);
      const names = await repo.names(tx, [...new Set(messages.map((m) => m.message.senderId!))]);
      const titles = await repo.conversationTitles(tx, convIds);
      const due = new Date(now.getTime() + d.messageDelayMs);
      for (const { userId, message: m } of messages) {
        const isSupport = support.get(m.conversationId) === userId;
        const kind: OutboxKind = isSupport ? 'support_reply' : 'message';
        const payload: NotifyPayload = {
          type: 'message',
          conversationId: m.conversationId,
          seq: m.seq,
          messageId: m.id,
          senderName: names.get(m.senderId!) ?? m.senderId!,
          text: m.text ?? (m.payload && 'title' in m.payload ? m.payload.title : ''),
          title: titles.get(m.conversationId) ?? null,
          support: isSupport,
        };
        const base = { userId, kind, conversationId: m.conversationId, priority: 'normal' as const, payload, dueAt: due };
        const push = pushDevices(devices.get(userId), false);
        for (const dev of push)
          out.push({ ...base, ...target(dev), idempotencyKey: `msg:${m.id}:${dev.id}`, collapseKey: `msg:${m.conversationId}:${dev.id}` });
        const p = prefs.get(userId) ?? DEFAULT_PREFS;
        if (isSupport && !push.length && p.email)
          out.push({ ...base, channel: 'email', deviceId: null, target: p.email, idempotencyKey: `msg:${m.id}:email`, collapseKey: `msg:${m.conversationId}:email` });
      }
    }
  }

  for (const { userId, call } of calls) out.push(...(await callRows(tx, userId, call, devices.get(userId) ?? [], found.rings.get(`${userId}\n${call.id}`) ?? [], now)));

  for (const r of reads) {
    // Only a user with a push device can have a badge to update.
    if (!devices.get(r.userId)?.some((x) => x.kind !== 'apns_voip')) continue;
    const cleared = await repo.clearForRead(tx, r.userId, r.conversationId, r.lastReadSeq, now);
    for (const t of cleared) {
      if (t.channel === 'email' || t.channel === 'sms' || !t.deviceId) continue;
      out.push({
        userId: r.userId,
        kind: 'badge',
        channel: t.channel,
        deviceId: t.deviceId,
        target: t.target,
        keys: (t.keys as NewOutboxRow['keys']) ?? null,
        conversationId: r.conversationId,
        collapseKey: `badge:${t.deviceId}`,
        priority: 'normal',
        payload: { type: 'badge', conversationId: r.conversationId },
        idempotencyKey: `badge:${r.conversationId}:${r.lastReadSeq}:${t.deviceId}`,
        dueAt: now,
      });
    }
  }
  return repo.enqueue(tx, out, now);
}

async function callRows(tx: Tx, userId: string, call: CallDTO, devs: DeviceRow[], rang: RingRow[], now: Date): Promise<NewOutboxRow[]> {
  const out: NewOutboxRow[] = [];
  const base = { userId, conversationId: call.conversationId, collapseKey: null, dueAt: now };
  if (call.state === 'ringing') {
    // Starts write these in SQL (notifyRepo.ringsSql, the same rows); this serves any other writer.
    const ring = pushDevices(devs, true);
    if (ring.length === 0) return out; // nothing to ring: no query for the caller's name
    const names = await repo.names(tx, [call.callerId]);
    const payload: NotifyPayload = { type: 'call_incoming', callId: call.id, conversationId: call.conversationId, callerId: call.callerId, callerName: names.get(call.callerId) ?? call.callerId, media: call.media };
    for (const dev of ring)
      out.push({ ...base, ...target(dev), kind: 'call_incoming', priority: 'high', payload, idempotencyKey: `call:${call.id}:ring:${dev.id}` });
    return out;
  }
  // Any later state of a call that rang: rings not sent yet are dropped, sent ones get a "stop ringing".
  await repo.skip(tx, rang.filter((r) => r.state === 'queued').map((r) => r.id), `call_${call.endReason ?? call.state}`, now);
  for (const r of rang) {
    if (r.state === 'queued' || r.state === 'skipped' || !r.deviceId) continue;
    out.push({
      ...base,
      kind: 'call_stop',
      channel: r.channel,
      deviceId: r.deviceId,
      target: r.target,
      keys: (r.keys as NewOutboxRow['keys']) ?? null,
      priority: 'high',
      payload: { type: 'call_stop', callId: call.id, conversationId: call.conversationId, state: call.state, endReason: call.endReason },
      idempotencyKey: `call:${call.id}:stop:${r.deviceId}`,
    });
  }
  if (call.state === 'ended' && call.endReason === 'missed') {
    const names = await repo.names(tx, [call.callerId]);
    const payload: NotifyPayload = { type: 'missed_call', callId: call.id, conversationId: call.conversationId, callerName: names.get(call.callerId) ?? call.callerId, media: call.media };
    const push = pushDevices(devs, false);
    for (const dev of push) out.push({ ...base, ...target(dev), kind: 'missed_call', priority: 'normal', payload, idempotencyKey: `call:${call.id}:missed:${dev.id}` });
    if (!push.length) {
      const p: Prefs = await repo.prefs(tx, userId);
      if (p.phone && p.channels.sms && p.kinds.missed_call)
        out.push({ ...base, kind: 'missed_call', channel: 'sms', deviceId: null, target: p.phone, priority: 'normal', payload, idempotencyKey: `call:${call.id}:missed:sms` });
    }
  }
  return out;
}

/**
 * VoIP (PushKit) tokens are for incoming calls only: iOS ends apps that use them for anything else.
 * An iPhone with a VoIP token rings through PushKit, so its regular APNs token gets no call alert too.
 */
function pushDevices(devs: DeviceRow[] | undefined, call: boolean): DeviceRow[] {
  const list = devs ?? [];
  if (!call) return list.filter((x) => x.kind !== 'apns_voip');
  const voip = list.some((x) => x.kind === 'apns_voip');
  return list.filter((x) => !(voip && x.kind === 'apns'));
}

function target(dev: DeviceRow): Pick<NewOutboxRow, 'channel' | 'deviceId' | 'target' | 'keys'> {
  return { channel: dev.kind, deviceId: dev.id, target: dev.token, keys: dev.keys };
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    let l = m.get(key(x));
    if (!l) m.set(key(x), (l = []));
    l.push(x);
  }
  return m;
}
