import type { ConversationContext, ConversationDTO, HistoryPage, MessageDTO, PresenceDTO, UserDTO } from '@sohbet/protocol';
import type { SohbetError } from './errors.ts';
import type { ClientEventMap, ClientEventName, ClientStatus } from './events.ts';
import type { OutboxItem, SendOptions } from './outbox.ts';
import type { SupportApi } from './support.ts';
import type { MediaApi } from './media.ts';
import type { CallsApi } from './calls.ts';
import type { WebRtcEnv } from './call-session.ts';
import type { NotificationsApi } from './notifications.ts';
import type { SafetyApi } from './safety.ts';
import type { AccountApi } from './account.ts';
import type { KeyValueStorage, WebStorageLike } from './storage.ts';

/** Options of {@link createClient}. */
export interface CreateClientOptions {
  /** The Sohbet server, e.g. `https://chat.example.com` (the socket is `wss://chat.example.com/ws`). A `ws(s)://…/ws` URL works too. */
  url: string;
  /** Returns a current token (JWT from your backend). Called for every (re)connection, so return a fresh one. */
  token: () => Promise<string> | string;
  /** A WebSocket class for runtimes without a global one (Node: `import WebSocket from 'ws'`). */
  WebSocket?: typeof globalThis.WebSocket;
  /** A fetch function for runtimes without a global one; used by `catchUp()` only. */
  fetch?: typeof globalThis.fetch;
  /** Persists the event cursor and the outbox across app restarts (AsyncStorage-like `{get,set}` or `localStorage`). */
  storage?: KeyValueStorage | WebStorageLike;
  /** Prefix of the storage keys. Use one per signed-in user when a device can switch accounts. Default `sohbet`. */
  storageKey?: string;
  /** Delay before reconnect attempt `n` (0-based). Default: jittered exponential backoff capped at ~10 s. */
  reconnectDelayMs?: (attempt: number) => number;
  /**
   * WebRTC for calls. Browsers: omit (globals are used). React Native: pass
   * `{ RTCPeerConnection, mediaDevices }` from `react-native-webrtc`.
   */
  webrtc?: Partial<WebRtcEnv>;
  /** How often a call in progress measures and reports its quality. Default 3000 ms. */
  callStatsIntervalMs?: number;
}

/** Conversations and messages. Every method rejects with a {@link SohbetError}. */
export interface ChatApi {
  /** Opens (or returns the existing) 1:1 conversation with `userId`, optionally about a listing. */
  openDirect(input: { userId: string; context?: ConversationContext }): Promise<ConversationDTO>;
  /** Creates a group you own. */
  createGroup(input: { title: string; memberIds: string[] }): Promise<ConversationDTO>;
  /** Adds members to a group (admins only). */
  addMembers(input: { conversationId: string; userIds: string[] }): Promise<ConversationDTO>;
  /** Leaves a group (your own id) or removes a member (admins). */
  removeMember(input: { conversationId: string; userId: string }): Promise<void>;
  /** Your conversations, most recent first. */
  list(input?: { archived?: boolean; limit?: number; before?: string }): Promise<ConversationDTO[]>;
  /** One conversation as you see it (unread count, flags). */
  get(input: { conversationId: string }): Promise<ConversationDTO>;
  /**
   * Sends through the offline outbox: queued (and persisted) at once, sent when connected, re-sent
   * after a reconnect with the same clientId (G2). Resolves with the stored message; rejects with
   * the server's refusal (`chat.blocked`, `chat.too_long`, …), leaving the item `failed` in the outbox.
   */
  send(input: SendOptions): Promise<MessageDTO>;
  /** A page of messages by seq (G1): the newest `limit`, or those `before`/`after` a seq. */
  history(input: { conversationId: string; before?: number; after?: number; limit?: number }): Promise<HistoryPage>;
  /** Edits your message (within the server's edit window). */
  edit(input: { conversationId: string; seq: number; text: string }): Promise<MessageDTO>;
  /** Deletes a message for everyone (default) or hides it for you only. */
  delete(input: { conversationId: string; seq: number; scope?: 'everyone' | 'me' }): Promise<void>;
  /** Adds (default) or removes your reaction. */
  react(input: { conversationId: string; seq: number; emoji: string; on?: boolean }): Promise<void>;
  /** Marks everything up to `seq` as read (unread counts follow, G4). */
  markRead(input: { conversationId: string; seq: number }): Promise<void>;
  /** Reports messages up to `seq` as delivered. The SDK does this itself for messages it receives; debounced. */
  markDelivered(input: { conversationId: string; seq: number }): void;
  /** Tells the others you are typing. Throttled to one call per 3 s per conversation; resolves `true` when sent. */
  typing(conversationId: string): Promise<boolean>;
  /** Full-text search in your conversations (or one). */
  search(input: { query: string; conversationId?: string; limit?: number }): Promise<MessageDTO[]>;
  /** Mutes or unmutes notifications of a conversation. */
  setMuted(input: { conversationId: string; muted: boolean }): Promise<ConversationDTO>;
  /** Archives or unarchives a conversation. */
  setArchived(input: { conversationId: string; archived: boolean }): Promise<ConversationDTO>;
}

/** People. Every method rejects with a {@link SohbetError}. */
export interface UsersApi {
  /** The signed-in user (cached per connection). */
  me(): Promise<UserDTO>;
  /** Profiles of up to 200 users. */
  get(userIds: string[]): Promise<UserDTO[]>;
  /** Online state and last seen of up to 200 users. */
  presence(userIds: string[]): Promise<PresenceDTO[]>;
  /** Blocks a user: they can no longer message you. */
  block(userId: string): Promise<void>;
  /** Unblocks a user. */
  unblock(userId: string): Promise<void>;
  /** Ids of the users you blocked. */
  blocked(): Promise<string[]>;
  /**
   * Reports a user to the host's moderators (stored with the conversation's recent messages as
   * evidence and sent to the host as a `user.reported` webhook). Does not block; call `block` too if wanted.
   */
  report(input: { userId: string; reason: 'spam' | 'scam' | 'abuse' | 'other'; conversationId?: string; note?: string }): Promise<{ reportId: number }>;
}

/** The offline outbox (see {@link ChatApi.send}). */
export interface OutboxApi {
  /** Queued messages in send order (a new array on every change). */
  readonly items: readonly OutboxItem[];
  /** Re-queues a `failed` item; resolves with the stored message. */
  retry(clientId: string): Promise<MessageDTO>;
  /** Drops an item that is not on the wire; false when there is none or it is being sent. */
  discard(clientId: string): boolean;
}

/** A Sohbet client: one WebSocket, the live event stream, the outbox and typed calls. */
export interface SohbetClient {
  /** Current connection status; changes are emitted as `status`. */
  readonly status: ClientStatus;
  /** Why the status is `unauthenticated` (`auth.invalid`, `auth.expired`) or `closed` by the server; else null. */
  readonly error: SohbetError | null;
  /** The last durable event cursor (persisted when `storage` is given; restored before `connect()`). */
  readonly cursor: string | undefined;
  /** The signed-in user once known (after the first connection). */
  readonly user: UserDTO | null;
  /** Resolves once the cursor and outbox of a previous run are restored from storage. */
  readonly restored: Promise<void>;
  /**
   * Opens the WebSocket (once) and resolves when the event stream is live. Rejects when the
   * server refuses the token (status `unauthenticated`; the client keeps retrying with a fresh
   * `token()`) or the protocol version (status `closed`).
   */
  connect(): Promise<void>;
  /** Closes the socket; status becomes `closed`. `connect()` opens it again. */
  disconnect(): void;
  /** Listens to a client event; returns the function that stops listening. */
  on<K extends ClientEventName>(name: K, fn: (value: ClientEventMap[K]) => void): () => void;
  /**
   * Fetches the events missed since `cursor` over plain HTTP (`sync.since`) and emits them like
   * the socket would, e.g. from a push-notification handler without a socket. Returns how many.
   */
  catchUp(): Promise<number>;
  readonly chat: ChatApi;
  readonly users: UsersApi;
  /** Live support: customers start chats; operators run the console. */
  readonly support: SupportApi;
  /** Attachments: upload with progress and cancel, download URLs, voice "heard". */
  readonly media: MediaApi;
  /** Audio and video calls: start, accept, decline, hang up, media controls, history. */
  readonly calls: CallsApi;
  /** Push/email/SMS notifications: devices, preferences, the open conversation, display acknowledgements. */
  readonly notifications: NotificationsApi;
  /** Privacy: export your data, delete your account. */
  readonly account: AccountApi;
  readonly outbox: OutboxApi;
  /** Marketplace safety: report a user or a message, warnings; the moderators' review queue and audit log. */
  readonly safety: SafetyApi;
}
