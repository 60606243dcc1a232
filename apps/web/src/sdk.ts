/**
 * The one place the web app touches the SDK (@sohbet/client). Components import these names, so
 * a change in the SDK's surface is adapted here only.
 */
import { createClient, type CallSession, type SohbetClient } from '@sohbet/client';
import { SohbetProvider, useConnectionStatus, useConversations, useMessages, useOperatorConsole, useOutbox, usePresence, useSohbet, useSupportChats, useTyping } from '@sohbet/client/react';
import type {
  CannedResponseDTO, ConversationDTO, MessageDTO, OperatorDTO, OperatorStatus, PresenceDTO, RoutingDecisionDTO, SupportChatDTO, SupportMetricsDTO, SupportNoteDTO, SupportPriority,
} from '@sohbet/protocol';
import { createElement, useEffect, useMemo, useState, type ReactNode } from 'react';

export type ChatClient = SohbetClient;
export type { CallSession };

/** A message as the list shows it: stored, or still in the outbox (pending / failed). */
export type UiMessage = MessageDTO & { localState?: 'pending' | 'failed' | 'sent'; localId?: string };

export function createChatClient(token: () => Promise<string>, userId: string): ChatClient {
  // One storage prefix per user: a browser can switch accounts (demo tabs, host sign-out).
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  return createClient({ url, token, storage: localStorage, storageKey: `sohbet:${userId}` });
}

export function ChatProvider({ client, children }: { client: ChatClient; children: ReactNode }) {
  return createElement(SohbetProvider, { client, children });
}

export const useChatClient = (): ChatClient => useSohbet();

/** The SDK's status folded into what the banner shows; the browser's offline flag wins. */
export function useConnection(): 'online' | 'connecting' | 'offline' {
  const status = useConnectionStatus() as string;
  const [browserOnline, setBrowserOnline] = useState(() => navigator.onLine !== false);
  useEffect(() => {
    const on = () => setBrowserOnline(navigator.onLine !== false);
    window.addEventListener('online', on);
    window.addEventListener('offline', on);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', on);
    };
  }, []);
  if (!browserOnline) return 'offline';
  if (status === 'connected') return 'online';
  return status === 'reconnecting' ? 'offline' : 'connecting';
}

/** Active and archived conversations together (the list filters; forward and the view look up by id). */
export function useConversationList(): { conversations: ConversationDTO[]; loading: boolean } {
  const active = useConversations({ archived: false }) as { conversations: ConversationDTO[]; loading: boolean };
  const archived = useConversations({ archived: true }) as { conversations: ConversationDTO[]; loading: boolean };
  return useMemo(() => ({ conversations: [...active.conversations, ...archived.conversations], loading: active.loading }), [active, archived]);
}

/** The SDK's outbox states folded into what a bubble shows: `sending` is still pending. */
export function useConversationMessages(conversationId: string): { messages: UiMessage[]; hasMore: boolean; loadOlder(): Promise<void>; loading: boolean } {
  const view = useMessages(conversationId) as { messages: Array<MessageDTO & { localState?: string }>; hasMore: boolean; loadOlder(): Promise<void>; loading: boolean };
  return useMemo(
    () => ({ ...view, messages: view.messages.map((m) => (m.localState ? ({ ...m, localState: m.localState === 'failed' ? 'failed' : 'pending' } as UiMessage) : (m as UiMessage))) }),
    [view],
  );
}

export function useTypingUsers(conversationId: string): string[] {
  return useTyping(conversationId) as string[];
}

export function usePresenceMap(userIds: string[]): Map<string, PresenceDTO> {
  const raw = usePresence(userIds) as Record<string, PresenceDTO> | Map<string, PresenceDTO>;
  return useMemo(() => (raw instanceof Map ? raw : new Map(Object.entries(raw ?? {}))), [raw]);
}

export function useOutboxItems(): unknown[] {
  return useOutbox() as unknown[];
}

/** The stable error code of an SDK/server error (`chat.blocked`, …). */
export function errorCode(err: unknown): string {
  const e = err as { code?: string; data?: { appCode?: string }; shape?: { data?: { appCode?: string } } };
  return e?.data?.appCode ?? e?.shape?.data?.appCode ?? e?.code ?? 'internal';
}

export type { CannedResponseDTO, OperatorDTO, OperatorStatus, RoutingDecisionDTO, SupportChatDTO, SupportMetricsDTO, SupportNoteDTO, SupportPriority };
export { SUPPORT_PRIORITIES } from '@sohbet/protocol';

/** The signed-in customer's support chats (open first), live. */
export function useMySupportChats(): { chats: readonly SupportChatDTO[]; loading: boolean; refresh(): void } {
  const v = useSupportChats();
  return { chats: v.chats, loading: v.loading, refresh: v.refresh };
}

/** The operator console's live data (own status, queue, own chats, other operators). */
export function useOperatorData(): { me: OperatorDTO | null; queue: readonly SupportChatDTO[]; myChats: readonly SupportChatDTO[]; operators: readonly OperatorDTO[]; loading: boolean; refresh(): void } {
  const v = useOperatorConsole();
  return { me: v.me, queue: v.queue, myChats: v.myChats, operators: v.operators, loading: v.loading, refresh: v.refresh };
}

/** A fresh client id for an idempotent start (letters, digits, _ and -). */
export function newClientId(): string {
  return `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}
