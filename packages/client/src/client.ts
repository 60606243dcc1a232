import { createTRPCClient, httpLink } from '@trpc/client';
import type { StreamEvent, UserDTO } from '@sohbet/protocol';
import type { AppRouter } from '@sohbet/server/router';
import type { ChatApi, CreateClientOptions, OutboxApi, SohbetClient, UsersApi } from './api.ts';
import { Connection, type SohbetTRPC } from './connection.ts';
import { SohbetError, toSohbetError } from './errors.ts';
import { Emitter, type ClientEventMap } from './events.ts';
import { newClientId, Outbox } from './outbox.ts';
import { DeliveredReceipts } from './receipts.ts';
import { asKeyValueStorage, PersistedValue } from './storage.ts';
import { createSupportApi } from './support.ts';
import { createMediaApi } from './media.ts';
import { createCallsApi } from './calls.ts';
import { createNotificationsApi } from './notifications.ts';
import { createSafetyApi } from './safety.ts';
import { createAccountApi } from './account.ts';

const TYPING_THROTTLE_MS = 3000;

/**
 * Creates a Sohbet client. Nothing touches the network until `connect()`; the cursor and the
 * outbox of a previous run are restored from `storage` right away (see `client.restored`).
 *
 * @example
 * const client = createClient({ url: 'https://chat.example.com', token: () => api.chatToken() });
 * await client.connect();
 * client.on('message', (m) => console.log(m.text));
 * await client.chat.send({ conversationId, text: 'Salam!' });
 */

export function createClient(options: CreateClientOptions): SohbetClient {
  const storage = asKeyValueStorage(options.storage);
  const prefix = options.storageKey ?? 'sohbet';
  const cursorStore = new PersistedValue(storage, `${prefix}:cursor`);
  const emitter = new Emitter<ClientEventMap>();
  let user: UserDTO | null = null;
  let userPromise: Promise<UserDTO> | null = null;
  const typingSentAt = new Map<string, number>();

  const connection: Connection = new Connection({
    url: options.url,
    token: options.token,
    WebSocket: options.WebSocket,
    reconnectDelayMs: options.reconnectDelayMs,
    cursorStore,
    onEvent: (ev) => dispatch(ev),
    onStatus: (status) => {
      emitter.emit('status', status);
      if (status === 'connected') {
        void users.me().catch(() => {});
        void outbox.flush();
      }
    },
  });

  const trpc = (): SohbetTRPC => {
    if (!connection.trpc) throw new SohbetError('client.not_connected', 'call connect() first');
    return connection.trpc;
  };
  const call = async <T>(f: (t: SohbetTRPC) => Promise<T>): Promise<T> => {
    try {
      return await f(trpc());
    } catch (err) {
      throw toSohbetError(err);
    }
  };

  const outbox = new Outbox({
    store: new PersistedValue(storage, `${prefix}:outbox`),
    send: (i) => call((t) => t.chat.send.mutate({ conversationId: i.conversationId, clientId: i.clientId, text: i.text, payload: i.payload, replyToSeq: i.replyToSeq, forward: i.forward, attachmentIds: i.attachmentIds })),
    isConnected: () => connection.status === 'connected',
    onChange: (items) => emitter.emit('outbox', items),
    onSent: (m) => emitter.emit('sent', m),
  });

  const receipts = new DeliveredReceipts({
    me: async () => (await users.me()).id,
    markDelivered: (conversationId, seq) => call((t) => t.chat.markDelivered.mutate({ conversationId, seq })),
  });

  const restored = Promise.all([
    cursorStore.load().then((c) => {
      if (c && connection.cursor === undefined) connection.cursor = c;
    }),
    outbox.restored,
  ]).then(() => undefined);

  const calls = createCallsApi({
    call: (f) => call(f),
    me: async () => (await users.me()).id,
    webrtc: options.webrtc,
    statsIntervalMs: options.callStatsIntervalMs,
    emit: { incoming: (c) => emitter.emit('call.incoming', c), call: (c) => emitter.emit('call', c), ended: (c) => emitter.emit('call.ended', c) },
  });

  function dispatch(ev: StreamEvent): void {
    switch (ev.type) {
      case 'chat.message.created': {
        const m = ev.data.message;
        receipts.note(m.conversationId, m.seq, m.senderId);
        emitter.emit('message', m);
        break;
      }
      case 'chat.message.updated':
        emitter.emit('message.updated', ev.data.message);
        break;
      case 'chat.message.deleted':
        emitter.emit('message.deleted', ev.data);
        break;
      case 'chat.reaction.updated':
        emitter.emit('reaction', ev.data);
        break;
      case 'chat.receipt':
        emitter.emit('receipt', ev.data);
        break;
      case 'chat.conversation.updated':
        emitter.emit('conversation', ev.data.conversation);
        break;
      case 'chat.conversation.removed':
        emitter.emit('conversation.removed', ev.data);
        break;
      case 'user.block.updated':
        emitter.emit('block', ev.data);
        break;
      case 'chat.typing':
        emitter.emit('typing', ev.data);
        break;
      case 'presence.updated':
        emitter.emit('presence', ev.data);
        break;
      case 'sync.resync':
        emitter.emit('resync', ev.data);
        break;
      case 'sync.ready':
        emitter.emit('ready', ev.data);
        break;
      case 'media.voice.heard':
        emitter.emit('voice.heard', ev.data);
        break;
      case 'call.updated':
        calls.onCallUpdated(ev.data.call);
        break;
      case 'call.signal':
        calls.onSignal(ev.data);
        break;
      case 'call.quality':
        calls.onQuality(ev.data);
        break;
      case 'call.recording.updated':
        emitter.emit('call.recording', ev.data.recording);
        break;
    }
    emitter.emit('event', ev);
  }

  const chat: ChatApi = {
    openDirect: (input) => call((t) => t.chat.openDirect.mutate(input)),
    createGroup: (input) => call((t) => t.chat.createGroup.mutate(input)),
    addMembers: (input) => call((t) => t.chat.addMembers.mutate(input)),
    removeMember: (input) => call((t) => t.chat.removeMember.mutate(input)),
    list: (input) => call((t) => t.chat.list.query({ archived: input?.archived ?? false, limit: input?.limit ?? 50, before: input?.before })),
    get: (input) => call((t) => t.chat.get.query(input)),
    async send(input) {
      await restored;
      typingSentAt.delete(input.conversationId);
      return outbox.enqueue({ ...input, clientId: input.clientId ?? newClientId() });
    },
    history: (input) => call((t) => t.chat.history.query({ ...input, limit: input.limit ?? 50 })),
    edit: (input) => call((t) => t.chat.edit.mutate(input)),
    delete: (input) => call((t) => t.chat.delete.mutate({ ...input, scope: input.scope ?? 'everyone' })),
    react: (input) => call((t) => t.chat.react.mutate({ ...input, on: input.on ?? true })),
    markRead: (input) => call((t) => t.chat.markRead.mutate(input)),
    markDelivered: (input) => receipts.note(input.conversationId, input.seq, null),
    async typing(conversationId) {
      const now = Date.now();
      // Typing is only meaningful now: never queue it behind a reconnect.
      if (connection.status !== 'connected' || now - (typingSentAt.get(conversationId) ?? -Infinity) < TYPING_THROTTLE_MS) return false;
      typingSentAt.set(conversationId, now);
      await call((t) => t.chat.typing.mutate({ conversationId }));
      return true;
    },
    search: (input) => call((t) => t.chat.search.query({ ...input, limit: input.limit ?? 20 })),
    setMuted: (input) => call((t) => t.chat.setMuted.mutate(input)),
    setArchived: (input) => call((t) => t.chat.setArchived.mutate(input)),
  };

  const users: UsersApi = {
    me() {
      userPromise ??= call((t) => t.users.me.query()).then(
        (u) => (user = u),
        (err) => {
          userPromise = null;
          throw err;
        },
      );
      return userPromise;
    },
    get: (userIds) => call((t) => t.users.get.query({ userIds })),
    presence: (userIds) => call((t) => t.users.presence.query({ userIds })),
    block: (userId) => call((t) => t.users.block.mutate({ userId })),
    unblock: (userId) => call((t) => t.users.unblock.mutate({ userId })),
    blocked: () => call((t) => t.users.blocked.query()),
    report: (input) => call((t) => t.users.report.mutate(input)),
  };

  const outboxApi: OutboxApi = {
    get items() {
      return outbox.items;
    },
    retry: (clientId) => outbox.retry(clientId),
    discard: (clientId) => outbox.discard(clientId),
  };

  let http: SohbetTRPC | null = null;
  const httpClient = (): SohbetTRPC =>
    (http ??= createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${httpBase(options.url)}/trpc`,
          fetch: options.fetch,
          headers: async () => ({ authorization: `Bearer ${await options.token()}` }),
        }),
      ],
    }));
  // Notifications: over the socket when it is up, else over HTTP (push handlers in the background).
  const callAny = async <T>(f: (t: SohbetTRPC) => Promise<T>): Promise<T> => {
    try {
      return await f(connection.trpc && connection.status === 'connected' ? connection.trpc : httpClient());
    } catch (err) {
      throw toSohbetError(err);
    }
  };
  const notifications = createNotificationsApi(callAny, `${prefix}-${Math.random().toString(36).slice(2, 10)}`);
  async function catchUp(): Promise<number> {
    await restored;
    httpClient();
    let n = 0;
    for (;;) {
      const page = await http!.sync.since.query({ cursor: connection.cursor, limit: 500 }).catch((err: unknown) => {
        throw toSohbetError(err);
      });
      for (const ev of page.events) connection.ingest(ev);
      n += page.events.length;
      if (!page.hasMore || page.events.length === 0) return n;
    }
  }

  return {
    get status() {
      return connection.status;
    },
    get error() {
      return connection.error;
    },
    get cursor() {
      return connection.cursor;
    },
    get user() {
      return user;
    },
    restored,
    media: createMediaApi({ call, baseUrl: httpBase(options.url), fetch: options.fetch }),
    async connect() {
      await restored;
      if (connection.status === 'connected') return;
      const live = new Promise<void>((resolve, reject) => {
        const off = emitter.on('status', (s) => {
          if (s === 'connected') resolve();
          else if (s === 'unauthenticated' || s === 'closed') reject(connection.error ?? new SohbetError('client.not_connected', 'the client was closed'));
          else return;
          off();
        });
      });
      connection.start();
      return live;
    },
    disconnect() {
      connection.stop('closed');
      outbox.dispose();
      receipts.dispose();
      notifications.dispose();
      typingSentAt.clear();
      userPromise = null;
    },
    on: (name, fn) => emitter.on(name, fn),
    catchUp,
    chat,
    users,
    support: createSupportApi(call),
    calls,
    notifications,
    outbox: outboxApi,
    safety: createSafetyApi(callAny, (fn) => emitter.on('event', fn)),
    account: createAccountApi({ call, baseUrl: httpBase(options.url) }),
  };
}

/** `ws(s)://host/ws` or `http(s)://host/` → `http(s)://host`. */
function httpBase(url: string): string {
  return url
    .replace(/\/+$/, '')
    .replace(/\/ws$/, '')
    .replace(/^ws(s?):\/\//i, 'http$1://');
}
