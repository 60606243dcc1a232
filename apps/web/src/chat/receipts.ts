import type { MemberDTO } from '@sohbet/protocol';

export type Delivery = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

/**
 * The tick state of one of my messages from the other members' receipts: read when every other
 * member read up to it, delivered when every other member's device received it, sent otherwise.
 */
export function deliveryOf(seq: number, myId: string, members: MemberDTO[]): Exclude<Delivery, 'pending' | 'failed'> {
  const others = members.filter((m) => m.userId !== myId);
  if (others.length === 0) return 'sent';
  if (others.every((m) => m.lastReadSeq >= seq)) return 'read';
  if (others.every((m) => Math.max(m.lastDeliveredSeq, m.lastReadSeq) >= seq)) return 'delivered';
  return 'sent';
}
