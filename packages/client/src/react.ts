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
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { OperatorDTO, PresenceDTO, SupportChatDTO } from '@sohbet/protocol';
import type { SohbetError } from './errors.ts';
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

/** What {@link useSupportChats} returns. */
export interface SupportChatsView {
  chats: readonly SupportChatDTO[];
  loading: boolean;
  error: SohbetError | null;
  refresh(): void;
}

/**
 * The signed-in customer's support chats with live state, queue position and wait estimate:
 * re-read whenever a `support.*` event arrives (the chat moved, the queue moved) or the client reconnects.
 */
export function useSupportChats(): SupportChatsView {
  const v = useSupportQuery((c) => c.support.mine());
  return { chats: v.data ?? [], loading: v.loading, error: v.error, refresh: v.refresh };
}

/** What {@link useOperatorConsole} returns. */
export interface OperatorConsoleView {
  me: OperatorDTO | null;
  queue: readonly SupportChatDTO[];
  myChats: readonly SupportChatDTO[];
  operators: readonly OperatorDTO[];
  loading: boolean;
  error: SohbetError | null;
  refresh(): void;
}

/** The operator console's live data: own status and load, the queue in routing order, own chats, other operators. */
export function useOperatorConsole(): OperatorConsoleView {
  const v = useSupportQuery(async (c) => {
    const [me, queue, myChats, operators] = await Promise.all([c.support.me(), c.support.queue(), c.support.myChats(), c.support.operators()]);
    return { me, queue, myChats, operators };
  });
  const data = v.data;
  return { me: data?.me ?? null, queue: data?.queue ?? [], myChats: data?.myChats ?? [], operators: data?.operators ?? [], loading: v.loading, error: v.error, refresh: v.refresh };
}

/** Loads support data and re-loads it on every `support.*` stream event and on reconnect (coalesced: one request at a time). */
function useSupportQuery<T>(load: (c: SohbetClient) => Promise<T>): { data: T | null; loading: boolean; error: SohbetError | null; refresh(): void } {
  const client = useSohbet();
  const [state, setState] = useState<{ data: T | null; loading: boolean; error: SohbetError | null }>({ data: null, loading: true, error: null });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let alive = true;
    let pending = false;
    let again = false;
    const run = (): void => {
      if (client.status !== 'connected') return;
      if (pending) return void (again = true);
      pending = true;
      loadRef.current(client)
        .then(
          (data) => alive && setState({ data, loading: false, error: null }),
          (error: SohbetError) => alive && setState((s) => ({ ...s, loading: false, error })),
        )
        .finally(() => {
          pending = false;
          if (again && alive) {
            again = false;
            run();
          }
        });
    };
    run();
    const offEvent = client.on('event', (ev) => ev.type.startsWith('support.') && run());
    const offStatus = client.on('status', (s) => s === 'connected' && run());
    return () => {
      alive = false;
      offEvent();
      offStatus();
    };
  }, [client, tick]);
  const refresh = useCallback(() => setTick((x) => x + 1), []);
  return { data: state.data, loading: state.loading, error: state.error, refresh };
}
