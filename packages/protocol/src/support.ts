import { z } from 'zod';
import { clientId, conversationContext, LIMITS, userId } from './chat.ts';

/** Live support: chats between a customer and the operator who owns them (G5). */
export const SUPPORT_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const supportPriority = z.enum(SUPPORT_PRIORITIES);
export type SupportPriority = z.infer<typeof supportPriority>;

export const SUPPORT_STATES = ['queued', 'offered', 'assigned', 'pending', 'snoozed', 'resolved'] as const;
export type SupportState = (typeof SUPPORT_STATES)[number];

export const OPERATOR_STATUSES = ['available', 'away', 'offline'] as const;
export const operatorStatus = z.enum(OPERATOR_STATUSES);
export type OperatorStatus = z.infer<typeof operatorStatus>;

export const supportTopic = z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N}_.-]+$/u, 'letters, digits, _ . and - only');
export const supportChatId = z.string().min(1).max(LIMITS.idMax);

export const supportStartInput = z.object({
  topic: supportTopic,
  text: z.string().trim().min(1).max(LIMITS.textMax),
  clientId,
  context: conversationContext.optional(),
});
export const supportChatRef = z.object({ chatId: supportChatId });
/** Transfer to one operator (`toOperatorId`) or to a team (`toTopic`: back to the queue for that topic). */
export const supportTransferInput = z
  .object({ chatId: supportChatId, toOperatorId: userId.optional(), toTopic: supportTopic.optional(), note: z.string().trim().max(1000).optional() })
  .refine((x) => (x.toOperatorId === undefined) !== (x.toTopic === undefined), 'give exactly one of toOperatorId and toTopic');
export const supportRateInput = z.object({ chatId: supportChatId, score: z.number().int().min(1).max(5), comment: z.string().trim().max(1000).optional() });
export const supportNoteInput = z.object({ chatId: supportChatId, text: z.string().trim().min(1).max(LIMITS.textMax) });
export const cannedInput = z.object({
  title: z.string().trim().min(1).max(100),
  text: z.string().trim().min(1).max(LIMITS.textMax),
  /** A team's response (everyone serving the topic sees it); omit for a personal one. */
  topic: supportTopic.optional(),
});
export const cannedRef = z.object({ id: z.string().min(1).max(LIMITS.idMax) });
export const supervisorReassignInput = z.object({ chatId: supportChatId, toOperatorId: userId });
export const supportPriorityInput = z.object({ chatId: supportChatId, priority: supportPriority });
export const supportParkInput = z.object({ chatId: supportChatId, state: z.enum(['assigned', 'pending', 'snoozed']) });
export const operatorUpdateInput = z.object({
  status: operatorStatus.optional(),
  maxChats: z.number().int().min(0).max(100).optional(),
  topics: z.array(supportTopic).max(50).optional(),
});

export interface SupportPersonDTO {
  id: string;
  name: string;
  avatarUrl: string | null;
}

export interface SupportChatDTO {
  id: string;
  conversationId: string;
  customer: SupportPersonDTO;
  topic: string;
  priority: SupportPriority;
  state: SupportState;
  operator: SupportPersonDTO | null;
  offeredTo: string | null;
  offerExpiresAt: string | null;
  context: z.infer<typeof conversationContext> | null;
  firstMessage: string;
  /** When the chat (last) entered the queue; re-queues keep the original time. */
  queuedAt: string;
  assignedAt: string | null;
  resolvedAt: string | null;
  version: number;
  /** 1-based place in the queue among chats of the same topic; null when not waiting. */
  position: number | null;
  /** Wait estimate from the measured service rate; null when there is no data yet. */
  waitEstimate: { minSeconds: number; maxSeconds: number } | null;
  /** The customer's rating after resolve (1-5), once; null until rated. */
  csat: { score: number; comment: string | null; at: string } | null;
}

/** An internal note: visible to operators only. */
export interface SupportNoteDTO {
  id: string;
  chatId: string;
  author: SupportPersonDTO;
  text: string;
  createdAt: string;
}

/** A canned response the console inserts into the composer. */
export interface CannedResponseDTO {
  id: string;
  title: string;
  text: string;
  /** The team (topic) it belongs to; null for a personal response. */
  topic: string | null;
  ownerId: string | null;
}

/** p50/p95 in seconds (null without data) and the count they are computed from. */
export interface SupportPercentiles {
  p50: number | null;
  p95: number | null;
  count: number;
}

/** What the supervisor view shows: live counts and service metrics (per topic and priority). */
export interface SupportMetricsDTO {
  queued: Array<{ topic: string; priority: SupportPriority; count: number; oldestSeconds: number }>;
  open: { offered: number; assigned: number; pending: number; snoozed: number };
  timeToAssign: SupportPercentiles;
  timeToFirstResponse: SupportPercentiles;
  handleTime: SupportPercentiles;
  csat: { average: number | null; count: number };
  byTopic: Array<{ topic: string; priority: SupportPriority; timeToAssign: SupportPercentiles; resolved: number }>;
  slaBreaches: { wait: number; firstResponse: number };
}

export interface OperatorDTO {
  userId: string;
  name: string;
  avatarUrl: string | null;
  status: OperatorStatus;
  /** True while at least one socket is connected (or within the grace period). */
  connected: boolean;
  maxChats: number;
  activeChats: number;
  topics: string[];
}

export interface RoutingDecisionDTO {
  at: string;
  kind: string;
  candidates: string[];
  excluded: Array<{ operatorId: string; reason: string }>;
  winner: string | null;
  /** Who made the change when a person did (transfer, pick, reassign), and their note. */
  by?: string | null;
  note?: string | null;
  /** For a transfer to a team, or an automatic change (inactivity, SLA). */
  toTopic?: string | null;
  reason?: string | null;
}
