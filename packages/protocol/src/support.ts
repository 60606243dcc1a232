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
export const supportTransferInput = z.object({ chatId: supportChatId, toOperatorId: userId, note: z.string().trim().max(1000).optional() });
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
}
