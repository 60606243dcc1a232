import type { OperatorDTO, SupportChatDTO } from '@sohbet/protocol';
import type { Emit, EventLog } from '../realtime/event-log.ts';

/**
 * The events of live support. Durable ones (`support.chat.updated`, `support.operator.updated`)
 * are written in the same transaction as the state change; the queue signal is ephemeral: it
 * only tells operators and waiting customers to refresh (the data comes from the queries).
 */
export const supportEvents = {
  chatUpdated(emit: Emit, userIds: Array<string | null | undefined>, chat: SupportChatDTO): void {
    emit([...new Set(userIds.filter((u): u is string => !!u))], 'support.chat.updated', { chat });
  },
  operatorUpdated(emit: Emit, operator: OperatorDTO): void {
    emit([operator.userId], 'support.operator.updated', { operator });
  },
  queueChanged(events: EventLog, userIds: string[], topic: string): void {
    if (userIds.length) events.publishEphemeral([...new Set(userIds)], { type: 'support.queue.changed', data: { topic } });
  },
};
