import type {
  CannedResponseDTO, ConversationContext, OperatorDTO, OperatorStatus, RoutingDecisionDTO, SupportChatDTO, SupportMetricsDTO, SupportNoteDTO, SupportPriority,
} from '@sohbet/protocol';
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
  /** Operator: transfer to another operator (`toOperatorId`, available with room) or to a team (`toTopic`, back to that queue). */
  transfer(input: { chatId: string; toOperatorId?: string; toTopic?: string; note?: string }): Promise<SupportChatDTO>;
  setState(input: { chatId: string; state: 'assigned' | 'pending' | 'snoozed' }): Promise<SupportChatDTO>;
  setPriority(input: { chatId: string; priority: SupportPriority }): Promise<SupportChatDTO>;
  resolve(chatId: string): Promise<SupportChatDTO>;
  /** Operator: why the chat went where it went. */
  decisions(chatId: string): Promise<RoutingDecisionDTO[]>;
  /** Customer: rate a resolved chat 1-5 with an optional comment, once (`support.already_rated` after). */
  rate(input: { chatId: string; score: number; comment?: string }): Promise<SupportChatDTO>;
  /** Operator: an internal note on a chat, seen by operators only (`support.note.created`), never by the customer. */
  addNote(input: { chatId: string; text: string }): Promise<SupportNoteDTO>;
  notes(chatId: string): Promise<SupportNoteDTO[]>;
  /** Operator: canned responses you may insert (yours, your teams', global). */
  canned(): Promise<CannedResponseDTO[]>;
  /** Operator: add a personal canned response; with `topic`, a team one (needs the admin role). */
  addCanned(input: { title: string; text: string; topic?: string }): Promise<CannedResponseDTO>;
  deleteCanned(id: string): Promise<void>;
  /** Supervisor (roles operator + admin): live counts and p50/p95 service metrics per topic and priority. */
  metrics(): Promise<SupportMetricsDTO>;
  /** Supervisor: every chat not resolved. */
  openChats(): Promise<SupportChatDTO[]>;
  /** Supervisor: move an owned chat to another operator (same atomic hand-over as a transfer). */
  reassign(input: { chatId: string; toOperatorId: string }): Promise<SupportChatDTO>;
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
    rate: (input) => call((t) => t.support.rate.mutate(input)),
    addNote: (input) => call((t) => t.support.addNote.mutate(input)),
    notes: (chatId) => call((t) => t.support.notes.query({ chatId })),
    canned: () => call((t) => t.support.canned.query()),
    addCanned: (input) => call((t) => t.support.addCanned.mutate(input)),
    deleteCanned: (id) => call(async (t) => void (await t.support.deleteCanned.mutate({ id }))),
    metrics: () => call((t) => t.support.metrics.query()),
    openChats: () => call((t) => t.support.openChats.query()),
    reassign: (input) => call((t) => t.support.reassign.mutate(input)),
  };
}
