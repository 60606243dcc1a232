/**
 * TEMPORARY stand-in for @sohbet/client while the SDK is being written: the same surface as the
 * SDK contract (createClient, client.chat/users/outbox, React hooks), kept small. Delete this file
 * and point src/sdk.ts at '@sohbet/client' once the SDK lands.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { ConversationDTO, HistoryPage, MessageDTO, PresenceDTO, StreamEvent } from '@sohbet/protocol';
import { createContext, createElement, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';

type Status = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unauthenticated' | 'closed';
type Local = MessageDTO & { localState?: 'pending' | 'failed'; localId?: string };
interface OutboxItem { clientId: string; conversationId: string; text?: string; replyToSeq?: number; forward?: { conversationId: string; seq: number }; state: 'pending' | 'sending' | 'failed'; createdAt: string; error?: string }
interface Thread { list: Local[]; hasMore: boolean; loading: boolean; loaded: boolean }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Trpc = any;

const newClientId = () => `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;

export function createClient(opts: { url: string; token: () => Promise<string> | string; storage?: Storage }) {
  const storage = opts.storage;
  let me = '';
  let status: Status = 'idle';
  let cursor: string | undefined;
  const conversations = new Map<string, ConversationDTO>();
  let convLoaded = false;
  const threads = new Map<string, Thread>();
  const typing = new Map<string, Map<string, number>>();
  const presence = new Map<string, PresenceDTO>();
  let outbox: OutboxItem[] = [];
  const listeners = new Set<() => void>();
  const handlers = new Map<string, Set<(x: unknown) => void>>();
  let version = 0;
  const notify = () => {
    version++;
    for (const l of listeners) l();
  };
  const emit = (type: string, x: unknown) => handlers.get(type)?.forEach((h) => h(x));
  const setStatus = (s: Status) => {
    if (s === status) return;
    status = s;
    emit('status', s);
    notify();
    if (s === 'connected') void flush();
  };
  const saveOutbox = () => {
    if (me) storage?.setItem(`sohbet.outbox.${me}`, JSON.stringify(outbox));
    emit('outbox', outbox);
  };

  let ws: ReturnType<typeof createWSClient> | null = null;
  let trpc: Trpc = null;
  let sub: { unsubscribe(): void } | null = null;
  const deliveredSent = new Map<string, number>();
  let gen = 0;

  function thread(id: string): Thread {
    let t = threads.get(id);
    if (!t) threads.set(id, (t = { list: [], hasMore: true, loading: false, loaded: false }));
    return t;
  }
  function upsertMessage(m: MessageDTO) {
    const t = threads.get(m.conversationId);
    if (!t) return;
    const list = t.list.filter((x) => x.seq !== m.seq || x.localState);
    const i = list.findIndex((x) => x.localState && x.clientId === m.clientId && m.clientId);
    if (i >= 0) list.splice(i, 1);
    const at = list.findIndex((x) => x.seq === m.seq && !x.localState);
    if (at >= 0) list[at] = m;
    else list.push(m);
    t.list = list;
  }
  function patchMessage(conversationId: string, seq: number, f: (m: Local) => Local | null) {
    const t = threads.get(conversationId);
    if (!t) return;
    t.list = t.list.flatMap((m) => (m.seq === seq && !m.localState ? (f(m) ?? []) : [m]));
  }
  function markDelivered(conversationId: string, seq: number) {
    if ((deliveredSent.get(conversationId) ?? 0) >= seq) return;
    deliveredSent.set(conversationId, seq);
    trpc?.chat.markDelivered.mutate({ conversationId, seq }).catch(() => deliveredSent.delete(conversationId));
  }

  function onEvent(ev: StreamEvent) {
    if (ev.cursor) {
      cursor = ev.cursor;
      storage?.setItem(`sohbet.cursor.${me}`, cursor);
    }
    switch (ev.type) {
      case 'chat.message.created': {
        const m = ev.data.message;
        upsertMessage(m);
        if (m.senderId && m.senderId !== me) {
          typing.get(m.conversationId)?.delete(m.senderId);
          markDelivered(m.conversationId, m.seq);
        }
        emit('message', m);
        break;
      }
      case 'chat.message.updated':
        patchMessage(ev.data.message.conversationId, ev.data.message.seq, () => ev.data.message);
        break;
      case 'chat.message.deleted': {
        const d = ev.data;
        patchMessage(d.conversationId, d.seq, (m) => (d.scope === 'me' ? null : { ...m, text: null, payload: null, reactions: [], deletedAt: new Date().toISOString() }));
        break;
      }
      case 'chat.reaction.updated':
        patchMessage(ev.data.conversationId, ev.data.seq, (m) => ({ ...m, reactions: ev.data.reactions }));
        break;
      case 'chat.receipt': {
        const c = conversations.get(ev.data.conversationId);
        const r = ev.data;
        if (c) conversations.set(c.id, { ...c, members: c.members.map((m) => (m.userId === r.userId ? { ...m, lastReadSeq: r.lastReadSeq, lastDeliveredSeq: r.lastDeliveredSeq } : m)), unreadCount: r.userId === me ? Math.max(0, c.lastSeq - r.lastReadSeq) : c.unreadCount });
        emit('receipt', r);
        break;
      }
      case 'chat.conversation.updated': {
        const c = ev.data.conversation;
        conversations.set(c.id, c);
        if (c.lastMessage && c.lastMessage.senderId !== me) markDelivered(c.id, c.lastSeq);
        break;
      }
      case 'chat.conversation.removed':
        conversations.delete(ev.data.conversationId);
        break;
      case 'chat.typing': {
        const { conversationId, userId, expiresInMs } = ev.data;
        let m = typing.get(conversationId);
        if (!m) typing.set(conversationId, (m = new Map()));
        m.set(userId, Date.now() + expiresInMs);
        setTimeout(notify, expiresInMs + 50);
        emit('typing', ev.data);
        break;
      }
      case 'presence.updated':
        presence.set(ev.data.userId, ev.data);
        emit('presence', ev.data);
        break;
      case 'sync.resync':
        void loadConversations();
        for (const id of threads.keys()) threads.delete(id);
        break;
    }
    notify();
  }

  async function loadConversations() {
    const [inbox, archived] = await Promise.all([trpc.chat.list.query({ archived: false, limit: 200 }), trpc.chat.list.query({ archived: true, limit: 200 })]);
    conversations.clear();
    for (const c of [...inbox, ...archived] as ConversationDTO[]) {
      conversations.set(c.id, c);
      if (c.lastMessage && c.lastMessage.senderId !== me && c.lastSeq > (c.members.find((m) => m.userId === me)?.lastDeliveredSeq ?? 0)) markDelivered(c.id, c.lastSeq);
    }
    convLoaded = true;
    notify();
  }

  let flushing = false;
  async function flush() {
    if (flushing || status !== 'connected') return;
    flushing = true;
    try {
      for (const item of [...outbox]) {
        if (item.state !== 'pending') continue;
        try {
          const { state: _s, error: _e, createdAt: _c, ...input } = item;
          const m: MessageDTO = await trpc.chat.send.mutate(input);
          outbox = outbox.filter((x) => x.clientId !== item.clientId);
          saveOutbox();
          upsertMessage(m);
          notify();
        } catch (err) {
          const code = (err as { data?: { appCode?: string } }).data?.appCode;
          if (!code || code === 'internal' || code === 'rate_limited') break; // network: retry on reconnect
          item.state = 'failed';
          item.error = code;
          saveOutbox();
          notify();
        }
      }
    } finally {
      flushing = false;
    }
  }

  function localMessages(conversationId: string): Local[] {
    return outbox
      .filter((o) => o.conversationId === conversationId)
      .map((o) => ({
        id: o.clientId, conversationId, seq: Number.MAX_SAFE_INTEGER, clientId: o.clientId, senderId: me, kind: 'text', text: o.text ?? null, payload: null,
        replyTo: null, forwarded: !!o.forward, reactions: [], createdAt: o.createdAt, editedAt: null, deletedAt: null, localState: o.state === 'failed' ? 'failed' : 'pending',
      }));
  }

  const online = () => (navigator.onLine === false ? setStatus('reconnecting') : undefined);
  const client = {
    get status() {
      return status;
    },
    get me() {
      return me;
    },
    get version() {
      return version;
    },
    subscribe(l: () => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    on(type: string, fn: (x: unknown) => void) {
      let s = handlers.get(type);
      if (!s) handlers.set(type, (s = new Set()));
      s.add(fn);
      return () => s!.delete(fn);
    },
    async connect() {
      const g = ++gen;
      const token = await opts.token();
      if (g !== gen) return;
      me = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub;
      outbox = JSON.parse(storage?.getItem(`sohbet.outbox.${me}`) ?? '[]');
      cursor = storage?.getItem(`sohbet.cursor.${me}`) ?? undefined;
      ws = createWSClient({
        url: opts.url,
        connectionParams: async () => ({ token: await opts.token(), v: '1' }),
        retryDelayMs: (i) => Math.min(1000 * 2 ** i, 10_000),
        onOpen: () => {
          setStatus('connected');
          void loadConversations();
          for (const [id, t] of threads) if (t.loaded) void client.chat.history({ conversationId: id, limit: 50 }).then((p: HistoryPage) => { for (const m of p.messages) upsertMessage(m); notify(); });
        },
        onClose: () => setStatus('reconnecting'),
      });
      trpc = createTRPCClient({ links: [wsLink({ client: ws })] });
      sub = trpc.sync.events.subscribe(cursor ? { lastEventId: cursor } : undefined, {
        onData: (d: unknown) => onEvent(('type' in (d as object) ? d : (d as { data: StreamEvent }).data) as StreamEvent),
        onError: () => {},
      });
      window.addEventListener('offline', online);
      window.addEventListener('online', () => ws?.connection?.ws?.readyState === 1 && setStatus('connected'));
    },
    disconnect() {
      gen++;
      sub?.unsubscribe();
      ws?.close();
      window.removeEventListener('offline', online);
    },
    chat: {
      openDirect: (i: unknown) => trpc.chat.openDirect.mutate(i).then((c: ConversationDTO) => (conversations.set(c.id, c), notify(), c)),
      createGroup: (i: unknown) => trpc.chat.createGroup.mutate(i),
      list: (i: unknown) => trpc.chat.list.query(i),
      send(i: { conversationId: string; text?: string; replyToSeq?: number; forward?: { conversationId: string; seq: number } }) {
        const item: OutboxItem = { clientId: newClientId(), ...i, state: 'pending', createdAt: new Date().toISOString() };
        outbox.push(item);
        saveOutbox();
        notify();
        void flush();
        return Promise.resolve(item);
      },
      history: (i: unknown) => trpc.chat.history.query(i),
      edit: (i: unknown) => trpc.chat.edit.mutate(i),
      delete: (i: unknown) => trpc.chat.delete.mutate(i),
      react: (i: unknown) => trpc.chat.react.mutate(i),
      markRead: (i: unknown) => trpc.chat.markRead.mutate(i),
      typing: (conversationId: string) => trpc.chat.typing.mutate({ conversationId }),
      search: (i: unknown) => trpc.chat.search.query(i),
      setMuted: (i: unknown) => trpc.chat.setMuted.mutate(i),
      setArchived: (i: unknown) => trpc.chat.setArchived.mutate(i),
    },
    users: {
      me: () => trpc.users.me.query(),
      presence: (i: { userIds: string[] }) => trpc.users.presence.query(i),
      block: (userId: string) => trpc.users.block.mutate({ userId }),
      unblock: (userId: string) => trpc.users.unblock.mutate({ userId }),
    },
    outbox: {
      get items() {
        return outbox;
      },
      retry(clientId: string) {
        const it = outbox.find((o) => o.clientId === clientId);
        if (it) it.state = 'pending';
        saveOutbox();
        notify();
        void flush();
        return Promise.resolve();
      },
      discard(clientId: string) {
        outbox = outbox.filter((o) => o.clientId !== clientId);
        saveOutbox();
        notify();
        return true;
      },
    },
    // internals for the hooks
    _: {
      conversations: () => [...conversations.values()],
      convLoaded: () => convLoaded,
      thread,
      localMessages,
      async loadOlder(id: string) {
        const t = thread(id);
        if (t.loading || !trpc) return;
        t.loading = true;
        notify();
        const stored = t.list.filter((m) => !m.localState);
        const before = stored.length ? Math.min(...stored.map((m) => m.seq)) : undefined;
        try {
          const p: HistoryPage = await trpc.chat.history.query({ conversationId: id, limit: 50, ...(before ? { before } : {}) });
          for (const m of p.messages) upsertMessage(m);
          t.hasMore = p.hasMore;
          t.loaded = true;
          const last = p.messages[p.messages.length - 1];
          if (last && last.senderId !== me) markDelivered(id, last.seq);
        } finally {
          t.loading = false;
          notify();
        }
      },
      typing: (id: string) => [...(typing.get(id) ?? new Map<string, number>()).entries()].filter(([, exp]) => exp > Date.now()).map(([u]) => u),
      presence: (ids: string[]) => ids.map((i) => presence.get(i)).filter(Boolean) as PresenceDTO[],
      async loadPresence(ids: string[]) {
        if (!trpc || !ids.length) return;
        const r: PresenceDTO[] = await trpc.users.presence.query({ userIds: ids });
        for (const p of r) presence.set(p.userId, p);
        notify();
      },
    },
  };
  return client;
}

type Client = ReturnType<typeof createClient>;
const Ctx = createContext<Client | null>(null);

export function SohbetProvider({ client, children }: { client: Client; children: ReactNode }) {
  return createElement(Ctx.Provider, { value: client }, children);
}
export function useSohbet(): Client {
  const c = useContext(Ctx);
  if (!c) throw new Error('SohbetProvider missing');
  return c;
}
function useVersion(c: Client) {
  return useSyncExternalStore(c.subscribe, () => c.version);
}
export function useConnectionStatus() {
  const c = useSohbet();
  useVersion(c);
  return c.status;
}
export function useConversations(archived = false) {
  const c = useSohbet();
  const v = useVersion(c);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => ({ conversations: c._.conversations().filter((x) => x.archived === archived), loading: !c._.convLoaded() }), [c, v, archived]);
}
export function useMessages(conversationId: string) {
  const c = useSohbet();
  const v = useVersion(c);
  useEffect(() => {
    const t = c._.thread(conversationId);
    if (!t.loaded && c.status === 'connected') void c._.loadOlder(conversationId);
  }, [c, conversationId, c.status]);
  return useMemo(() => {
    const t = c._.thread(conversationId);
    return { messages: [...t.list, ...c._.localMessages(conversationId)], hasMore: t.hasMore || !t.loaded, loading: t.loading, loadOlder: () => c._.loadOlder(conversationId) };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [c, conversationId, v]);
}
export function useTyping(conversationId: string) {
  const c = useSohbet();
  const v = useVersion(c);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => c._.typing(conversationId), [c, conversationId, v]);
}
export function usePresence(userIds: string[]) {
  const c = useSohbet();
  const v = useVersion(c);
  const key = userIds.join(',');
  const [, setTick] = useState(0);
  useEffect(() => {
    void c._.loadPresence(key ? key.split(',') : []).then(() => setTick((x) => x + 1));
  }, [c, key, c.status]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => new Map(c._.presence(key ? key.split(',') : []).map((p) => [p.userId, p])), [c, key, v]);
}
export function useOutbox() {
  const c = useSohbet();
  useVersion(c);
  return c.outbox.items;
}
