import type { ConversationContext, ConversationDTO, SupportChatDTO } from '@sohbet/protocol';
import { conversationDTO, messageDTO } from '../chat/chat.dto.ts';
import type { ConversationRow, MessageRow } from '../chat/chat.repo.ts';
import type { Executor } from '../db/db.ts';
import { orderQueue, serves, waitEstimate, type OperatorLoad } from './support.domain.ts';
import { supportChatDTO } from './support.dto.ts';
import { supportRepo as repo, type OperatorRow, type SupportChatRow } from './support.repo.ts';

/** Names and avatars of the people on support chats, by id. */
export async function peopleMap(ex: Executor, ids: Array<string | null | undefined>) {
  const list = await repo.people(ex, ids.filter((x): x is string => !!x));
  return new Map(list.map((p) => [p.id, p]));
}

export function loadOf(o: OperatorRow): OperatorLoad {
  return { userId: o.userId, status: o.status, connected: o.disconnectedAt === null, maxChats: o.maxChats, activeChats: o.activeChats, topics: o.topics, lastAssignedAt: o.lastAssignedAt };
}

/**
 * Chats as customers and operators see them: waiting ones with their 1-based place among chats of
 * the same topic and a wait estimate from the measured handle time and the serving operators'
 * slots. A list of only waiting chats (the operators' queue) comes back in routing order.
 */
export async function chatViews(db: Executor, now: Date, agingMs: number, list: SupportChatRow[]): Promise<SupportChatDTO[]> {
  const people = await peopleMap(db, list.flatMap((c) => [c.customerId, c.operatorId]));
  const needsQueue = list.some((c) => c.state === 'queued' || c.state === 'offered');
  const [waiting, operatorRows] = needsQueue ? await Promise.all([repo.waitingKeys(db), repo.operators(db)]) : [[], []];
  const queue = orderQueue(waiting, now, agingMs);
  const operators = operatorRows.map(loadOf);
  // One handle-time query per topic, not per listed chat (the operators' queue lists up to 500).
  const handle = new Map<string, Promise<number | null>>();
  const meanHandle = (topic: string) => {
    let v = handle.get(topic);
    if (!v) handle.set(topic, (v = repo.meanHandleMs(db, topic)));
    return v;
  };
  const out: SupportChatDTO[] = [];
  const order = new Map(queue.map((c, i) => [c.id, i]));
  for (const c of list) {
    if (c.state !== 'queued') {
      out.push(supportChatDTO(c, people));
      continue;
    }
    const position = queue.filter((q) => q.state === 'queued' && q.topic === c.topic && (order.get(q.id) ?? 0) <= (order.get(c.id) ?? 0)).length;
    const slots = operators.filter((o) => o.status === 'available' && o.connected && serves(o, c.topic)).reduce((s, o) => s + o.maxChats, 0);
    out.push(supportChatDTO(c, people, { position, waitEstimate: waitEstimate(position, await meanHandle(c.topic), slots) }));
  }
  if (!needsQueue) return out;
  return list.every((c) => c.state === 'queued' || c.state === 'offered') ? out.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)) : out;
}

/**
 * A new support chat's first message and its conversation as the customer sees them, from what the
 * start just wrote (routingRepo.insertStart) — the same DTOs a send and a conversation update build
 * from reading the rows back: one member (the customer, read up to message 1), message 1 its last.
 */
export function firstMessageViews(
  customerId: string,
  c: { conversationId: string; title: string; context: ConversationContext | null; topic: string; createdAt: Date; at: Date; message: { id: string; clientId: string; text: string; redacted: boolean } },
  people: Map<string, { id: string; name: string; avatarUrl: string | null }>,
): { message: MessageRow; conversation: ConversationDTO } {
  const message: MessageRow = {
    conversationId: c.conversationId, seq: 1, id: c.message.id, clientId: c.message.clientId, senderId: customerId, kind: 'text', text: c.message.text, payload: null,
    replyToSeq: null, forwarded: false, createdAt: c.at, editedAt: null, deletedAt: null, redacted: c.message.redacted,
  };
  const conv: ConversationRow = { id: c.conversationId, kind: 'group', directKey: null, title: c.title, context: c.context, lastSeq: 1, lastMessageAt: c.at, createdAt: c.createdAt };
  const members = [{ userId: customerId, role: 'member' as const, lastReadSeq: 1, lastDeliveredSeq: 1, muted: false, archived: false, joinedSeq: 0 }];
  const p = people.get(customerId);
  const users = new Map([[customerId, { id: customerId, name: p?.name ?? customerId, avatarUrl: p?.avatarUrl ?? null, roles: [] as string[], lastSeenAt: null }]]);
  const dto = conversationDTO(customerId, conv, members, users, messageDTO(message), false);
  return { message, conversation: { ...dto, titleCode: { code: 'support.title', params: { topic: c.topic } } } };
}
