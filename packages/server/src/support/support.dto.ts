import type { OperatorDTO, SupportChatDTO, SupportPersonDTO } from '@sohbet/protocol';
import type { OperatorRow, SupportChatRow } from './support.repo.ts';

type People = Map<string, SupportPersonDTO>;

const person = (people: People, id: string): SupportPersonDTO => people.get(id) ?? { id, name: id, avatarUrl: null };

export function supportChatDTO(
  c: SupportChatRow,
  people: People,
  waiting: { position: number | null; waitEstimate: SupportChatDTO['waitEstimate'] } = { position: null, waitEstimate: null },
): SupportChatDTO {
  return {
    id: c.id,
    conversationId: c.conversationId,
    customer: person(people, c.customerId),
    topic: c.topic,
    priority: c.priority,
    state: c.state,
    operator: c.operatorId ? person(people, c.operatorId) : null,
    offeredTo: c.offeredTo,
    offerExpiresAt: c.offerExpiresAt?.toISOString() ?? null,
    context: (c.context as SupportChatDTO['context']) ?? null,
    firstMessage: c.firstMessage,
    queuedAt: c.queuedAt.toISOString(),
    assignedAt: c.assignedAt?.toISOString() ?? null,
    resolvedAt: c.resolvedAt?.toISOString() ?? null,
    version: c.version,
    position: waiting.position,
    waitEstimate: waiting.waitEstimate,
    csat: c.csatScore !== null && c.csatAt ? { score: c.csatScore, comment: c.csatComment, at: c.csatAt.toISOString() } : null,
  };
}

export function operatorDTO(o: OperatorRow, people: People): OperatorDTO {
  const p = person(people, o.userId);
  return {
    userId: o.userId,
    name: p.name,
    avatarUrl: p.avatarUrl,
    status: o.status,
    connected: o.disconnectedAt === null,
    maxChats: o.maxChats,
    activeChats: o.activeChats,
    topics: o.topics,
  };
}
