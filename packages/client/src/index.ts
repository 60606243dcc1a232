/**
 * @sohbet/client — the Sohbet SDK for browsers, React Native and Node.
 * React bindings live in `@sohbet/client/react`.
 */
export { createClient } from './client.ts';
export type { ChatApi, CreateClientOptions, OutboxApi, SohbetClient, UsersApi } from './api.ts';
export type { SupportApi } from './support.ts';
export type { MediaApi, UploadOptions, UploadProgress, UploadSource, UploadTask } from './media.ts';
export type { CallsApi } from './calls.ts';
export { CallSession, type CallSessionEvents, type WebRtcEnv } from './call-session.ts';
export type { NotificationsApi } from './notifications.ts';
export type { AccountApi } from './account.ts';
export { SohbetError, toSohbetError, type ClientErrorCode, type SohbetErrorCode } from './errors.ts';
export type { ClientEventMap, ClientEventName, ClientStatus } from './events.ts';
export { newClientId, type OutboxItem, type SendOptions } from './outbox.ts';
export type { KeyValueStorage, WebStorageLike } from './storage.ts';
export { backoffDelayMs, socketUrl } from './connection.ts';
export { ChatStore, chatStore } from './store.ts';
export type { ChatMessage, ConversationsView, MessagesView } from './timeline.ts';
export type { SafetyApi, SafetyWarning } from './safety.ts';
