/**
 * React bindings for @sohbet/client (React 18+ and React Native): a provider and hooks over the
 * shared {@link ChatStore}. Every hook reads through useSyncExternalStore, so a component
 * re-renders only when the part of the cache it reads changes.
 *
 * @example
 * <SohbetProvider client={client}><Inbox /></SohbetProvider>
 * function Inbox() {
 *   const { conversations, loading } = useConversations();
 *   ...
 * }
 */
import { createContext, createElement, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import type { PresenceDTO } from '@sohbet/protocol';
import type { SohbetClient } from './api.ts';
import type { ClientStatus } from './events.ts';
import type { OutboxItem } from './outbox.ts';
import { chatStore, type ChatStore } from './store.ts';
import type { ConversationsView, MessagesView } from './timeline.ts';

export type { ChatMessage, ConversationsView, MessagesView } from './timeline.ts';
export { ChatStore, chatStore } from './store.ts';

const ClientContext = createContext<SohbetClient | null>(null);

/** Makes `client` available to the hooks below it. */
export function SohbetProvider(props: { client: SohbetClient; children?: ReactNode }): ReactNode {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

/** The client of the nearest {@link SohbetProvider}. */
export function useSohbet(): SohbetClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useSohbet: wrap your app in <SohbetProvider client={...}>');
  return client;
}

function useStore(): ChatStore {
  return chatStore(useSohbet());
}

function useView<T>(store: ChatStore, read: () => T): T {
  return useSyncExternalStore(store.subscribe, read, read);
}

/** The connection status; re-renders when it changes. */
export function useConnectionStatus(): ClientStatus {
  const store = useStore();
  return useView(store, () => store.status());
}

/**
 * Your conversations (active, or archived with `{ archived: true }`), most recent first, kept
 * live: new messages reorder the list and raise unread counts (`lastSeq − lastReadSeq`, G4),
 * receipts and conversation updates apply as they arrive.
 */
export function useConversations(options: { archived?: boolean } = {}): ConversationsView {
  const store = useStore();
  const archived = options.archived ?? false;
  useEffect(() => store.watchConversations(archived), [store, archived]);
  return useView(store, () => store.conversations(archived));
}

/**
 * Messages of one conversation by seq (G1), then this device's outbox items for it (with
 * `localState`). Loads the newest page on mount; `loadOlder()` pages back. Kept live: new,
 * edited and deleted messages and reactions apply as they arrive.
 */
export function useMessages(conversationId: string): MessagesView {
  const store = useStore();
  useEffect(() => store.openThread(conversationId), [store, conversationId]);
  return useView(store, () => store.messages(conversationId));
}

/** Ids of the users typing in a conversation now; each entry expires after the server's `expiresInMs`. */
export function useTyping(conversationId: string): readonly string[] {
  const store = useStore();
  return useView(store, () => store.typing(conversationId));
}

/**
 * Online state and last seen of `userIds`, fetched on mount (and after each reconnect) and kept
 * live by presence events. Users not known yet are absent from the map.
 */
export function usePresence(userIds: readonly string[]): ReadonlyMap<string, PresenceDTO> {
  const store = useStore();
  const key = [...new Set(userIds)].sort().join('\u0000');
  const ids = useMemo(() => (key ? key.split('\u0000') : []), [key]);
  const status = useView(store, () => store.status());
  useEffect(() => {
    if (status === 'connected') void store.loadPresence(ids);
  }, [store, ids, status]);
  return useView(store, () => store.presence(ids));
}

/** The outbox items (pending, sending, failed), in send order. */
export function useOutbox(): readonly OutboxItem[] {
  const store = useStore();
  return useView(store, () => store.outbox());
}
