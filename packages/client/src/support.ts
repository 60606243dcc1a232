import type { ConversationContext, OperatorDTO, OperatorStatus, RoutingDecisionDTO, SupportChatDTO, SupportPriority } from '@sohbet/protocol';
import type { SohbetTRPC } from './connection.ts';

/**
 * Live support. Customers: `start`, `mine`, `get`. Operators (token role `operator`): the console
 * calls. Changes arrive as `support.chat.updated` / `support.operator.updated` stream events and
 * `support.queue.changed` signals (see `client.on('event', …)` or the React hooks). Every method
 * rejects with a SohbetError (`support.not_operator`, `support.capacity`, `support.already_assigned`, …).
 */
export interface SupportApi {
  /** Starts a support chat with its first message; a retry (same customer and topic) returns the open one. */
  start(input: { topic: string; text: string; clientId: string; context?: ConversationContext }): Promise<SupportChatDTO>;
  /** Your support chats (open first) with queue position and wait estimate. */
  mine(): Promise<SupportChatDTO[]>;
  get(chatId: string): Promise<SupportChatDTO>;
  /** Operator: your status, capacity and load. */
  me(): Promise<OperatorDTO>;
  /** Operator: set your status (available / away / offline), max concurrent chats or topics. */
  updateMe(input: { status?: OperatorStatus; maxChats?: number; topics?: string[] }): Promise<OperatorDTO>;
  operators(): Promise<OperatorDTO[]>;
  /** Operator: waiting and offered chats in routing order. */
  queue(): Promise<SupportChatDTO[]>;
  /** Operator: chats offered to you or owned by you. */
  myChats(): Promise<SupportChatDTO[]>;
  accept(chatId: string): Promise<SupportChatDTO>;
  decline(chatId: string): Promise<SupportChatDTO>;
  pick(chatId: string): Promise<SupportChatDTO>;
  transfer(input: { chatId: string; toOperatorId: string; note?: string }): Promise<SupportChatDTO>;
  setState(input: { chatId: string; state: 'assigned' | 'pending' | 'snoozed' }): Promise<SupportChatDTO>;
  setPriority(input: { chatId: string; priority: SupportPriority }): Promise<SupportChatDTO>;
  resolve(chatId: string): Promise<SupportChatDTO>;
  /** Operator: why the chat went where it went. */
  decisions(chatId: string): Promise<RoutingDecisionDTO[]>;
}

export function createSupportApi(call: <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>): SupportApi {
  return {
    start: (input) => call((t) => t.support.start.mutate(input)),
    mine: () => call((t) => t.support.mine.query()),
    get: (chatId) => call((t) => t.support.get.query({ chatId })),
    me: () => call((t) => t.support.me.query()),
    updateMe: (input) => call((t) => t.support.updateMe.mutate(input)),
    operators: () => call((t) => t.support.operators.query()),
    queue: () => call((t) => t.support.queue.query()),
    myChats: () => call((t) => t.support.myChats.query()),
    accept: (chatId) => call((t) => t.support.accept.mutate({ chatId })),
    decline: (chatId) => call((t) => t.support.decline.mutate({ chatId })),
    pick: (chatId) => call((t) => t.support.pick.mutate({ chatId })),
    transfer: (input) => call((t) => t.support.transfer.mutate(input)),
    setState: (input) => call((t) => t.support.setState.mutate(input)),
    setPriority: (input) => call((t) => t.support.setPriority.mutate(input)),
    resolve: (chatId) => call((t) => t.support.resolve.mutate({ chatId })),
    decisions: (chatId) => call((t) => t.support.decisions.query({ chatId })),
  };
}
