import type { ConversationDTO, MessageDTO, PresenceDTO } from '@sohbet/protocol';
import type { SohbetClient } from './api.ts';
import { toSohbetError, type SohbetError } from './errors.ts';
import type { ClientStatus } from './events.ts';
import type { OutboxItem } from './outbox.ts';
import { TypingTracker } from './typing.ts';
import { byActivity, mergeMessages, outboxRows, patchMessage, tombstone, withMessage, withReceipt, type ConversationsView, type MessagesView } from './timeline.ts';

const PAGE = 50;

interface Thread {
  messages: MessageDTO[];
  hasMore: boolean;
  loading: boolean;
  loaded: boolean;
  error: SohbetError | null;
}

interface ListState {
  wanted: number;
  loaded: boolean;
  loading: boolean;
  error: SohbetError | null;
}

/**
 * The shared cache behind the React hooks (usable without React too): conversations, message
 * windows, typing and presence, kept live from the client's events. Views are immutable and
 * keep their identity until something in them changes (what useSyncExternalStore needs).
 */
export class ChatStore {
  private readonly listeners = new Set<() => void>();
  private readonly views = new Map<string, unknown>();
  private readonly convs = new Map<string, ConversationDTO>();
  private readonly lists: Record<'active' | 'archived', ListState> = { active: newList(), archived: newList() };
  private readonly touched = new Set<string>();
  private readonly threads = new Map<string, Thread>();
  private readonly typers = new TypingTracker((id) => this.changed(`typing:${id}`));
  private readonly presenceBy = new Map<string, PresenceDTO>();
  private readonly fetching = new Set<string>();
  private readonly offs: Array<() => void>;

  /** Follows `client`'s events from now on; prefer {@link chatStore} to share one per client. */
  constructor(readonly client: SohbetClient) {
    const c = client;
    this.offs = [
      c.on('status', (s) => this.onStatus(s)),
      c.on('message', (m) => this.onMessage(m, true)),
      c.on('sent', (m) => this.onMessage(m, false)),
      c.on('message.updated', (m) => this.patch(m.conversationId, m.seq, () => m)),
      c.on('message.deleted', (d) => this.patch(d.conversationId, d.seq, (m) => (d.scope === 'me' ? null : tombstone(m)))),
      c.on('reaction', (r) => this.patch(r.conversationId, r.seq, (m) => ({ ...m, reactions: r.reactions }))),
      c.on('receipt', (r) => this.updateConv(r.conversationId, (x) => withReceipt(x, r, this.me))),
      c.on('conversation', (conv) => this.putConv(conv)),
      c.on('conversation.removed', ({ conversationId }) => {
        this.convs.delete(conversationId);
        this.threads.delete(conversationId);
        this.changed('convs', `thread:${conversationId}`);
      }),
      c.on('typing', (t) => this.typers.typed(t.conversationId, t.userId, t.expiresInMs)),
      c.on('presence', (p) => {
        this.presenceBy.set(p.userId, p);
        this.changed('presence');
      }),
      c.on('resync', () => this.resync()),
      c.on('outbox', () => this.changed('thread:', 'outbox')),
    ];
  }

  private get me(): string | null {
    return this.client.user?.id ?? null;
  }

  /** Subscribes to any change (React's useSyncExternalStore subscribe). */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  /** Stops following the client's events. */
  dispose(): void {
    for (const off of this.offs) off();
    this.typers.clear();
  }

  // ---- views ----

  /** Connection status. */
  status(): ClientStatus {
    return this.client.status;
  }

  /** The outbox items. */
  outbox(): readonly OutboxItem[] {
    return this.client.outbox.items;
  }

  /** Active (or archived) conversations, most recent first. */
  conversations(archived = false): ConversationsView {
    return this.view(`convs:${archived}`, () => {
      const l = this.lists[archived ? 'archived' : 'active'];
      const list = [...this.convs.values()].filter((c) => c.archived === archived).sort(byActivity);
      return { conversations: list, loading: !l.loaded && !l.error, error: l.error };
    });
  }

  /** The loaded window of one conversation plus its outbox items. */
  messages(conversationId: string): MessagesView {
    return this.view(`thread:${conversationId}`, () => {
      const t = this.threads.get(conversationId);
      const stored = t?.messages ?? [];
      return {
        messages: [...stored, ...outboxRows(this.client.outbox.items, conversationId, stored, this.me)],
        hasMore: t ? t.hasMore || !t.loaded : true,
        loading: t ? t.loading || (!t.loaded && !t.error) : true,
        error: t?.error ?? null,
        loadOlder: () => this.loadOlder(conversationId),
      };
    });
  }

  /** Ids of the users typing in a conversation now. */
  typing(conversationId: string): readonly string[] {
    return this.view(`typing:${conversationId}`, () => this.typers.list(conversationId));
  }

  /** Presence of the given users (only those known so far). */
  presence(userIds: readonly string[]): ReadonlyMap<string, PresenceDTO> {
    return this.view(`presence:${userIds.join('\u0000')}`, () => new Map(userIds.flatMap((u) => (this.presenceBy.has(u) ? [[u, this.presenceBy.get(u)!] as const] : []))));
  }

  // ---- interest: what to load and keep loaded ----

  /** Keeps a conversation list loaded while the returned function is not called. */
  watchConversations(archived = false): () => void {
    const l = this.lists[archived ? 'archived' : 'active'];
    l.wanted++;
    if (!l.loaded) void this.loadList(archived);
    return () => void l.wanted--;
  }

  /** Loads the newest page of a conversation (once; live afterwards). */
  openThread(conversationId: string): void {
    const t = this.thread(conversationId);
    if (!t.loaded && !t.loading) void this.loadPage(conversationId, undefined);
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(conversationId: string): Promise<void> {
    const t = this.thread(conversationId);
    if (t.loading) return;
    if (!t.loaded) return this.loadPage(conversationId, undefined);
    if (!t.hasMore || t.messages.length === 0) return;
    return this.loadPage(conversationId, t.messages[0]!.seq);
  }

  /** Fetches the presence of users (presence events keep it live for direct contacts). */
  async loadPresence(userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0 || this.client.status !== 'connected') return;
    try {
      for (const p of await this.client.users.presence([...userIds].slice(0, 200))) this.presenceBy.set(p.userId, p);
      this.changed('presence');
    } catch {
      // Presence is best-effort; events still arrive.
    }
  }

  // ---- loading ----

  private thread(conversationId: string): Thread {
    let t = this.threads.get(conversationId);
    if (!t) this.threads.set(conversationId, (t = { messages: [], hasMore: true, loading: false, loaded: false, error: null }));
    return t;
  }

  private async loadPage(conversationId: string, before: number | undefined): Promise<void> {
    const t = this.thread(conversationId);
    if (this.client.status !== 'connected') return; // retried on 'connected'
    t.loading = true;
    t.error = null;
    this.changed(`thread:${conversationId}`);
    try {
      const page = await this.client.chat.history({ conversationId, before, limit: PAGE });
      const cur = this.threads.get(conversationId);
      if (cur !== t) return;
      t.messages = mergeMessages(t.messages, page.messages);
      if (before !== undefined || !t.loaded) t.hasMore = page.hasMore;
      t.loaded = true;
      const last = page.messages[page.messages.length - 1];
      if (before === undefined && last && last.senderId !== this.me) this.client.chat.markDelivered({ conversationId, seq: last.seq });
    } catch (err) {
      t.error = toSohbetError(err);
    } finally {
      t.loading = false;
      this.changed(`thread:${conversationId}`);
    }
  }

  private async loadList(archived: boolean): Promise<void> {
    const l = this.lists[archived ? 'archived' : 'active'];
    if (l.loading || this.client.status !== 'connected') return;
    l.loading = true;
    l.error = null;
    this.touched.clear();
    try {
      const [list, me] = await Promise.all([this.client.chat.list({ archived, limit: 200 }), this.client.users.me().catch(() => null)]);
      for (const c of list) {
        // An event that arrived while the page was in flight is newer than the page.
        if (!(this.touched.has(c.id) && this.convs.has(c.id))) this.convs.set(c.id, c);
        const mine = me ? c.members.find((m) => m.userId === me.id) : undefined;
        if (c.lastMessage && c.lastMessage.senderId !== me?.id && mine && c.lastSeq > mine.lastDeliveredSeq) this.client.chat.markDelivered({ conversationId: c.id, seq: c.lastSeq });
      }
      l.loaded = true;
    } catch (err) {
      l.error = toSohbetError(err);
    } finally {
      l.loading = false;
      this.changed('convs');
    }
  }

  /** A message for a conversation we do not know yet (new, or past the loaded page): fetch it. */
  private async fetchConversation(conversationId: string): Promise<void> {
    if (this.fetching.has(conversationId)) return;
    this.fetching.add(conversationId);
    try {
      this.putConv(await this.client.chat.get({ conversationId }));
    } catch {
      // Removed meanwhile, or offline: a later event or reload brings it.
    } finally {
      this.fetching.delete(conversationId);
    }
  }

  // ---- events ----

  private onStatus(s: ClientStatus): void {
    this.changed('status');
    if (s !== 'connected') return;
    for (const [archived, l] of [[false, this.lists.active], [true, this.lists.archived]] as const) if (l.wanted > 0 && !l.loaded) void this.loadList(archived);
    for (const [id, t] of this.threads) if (!t.loaded && !t.loading) void this.loadPage(id, undefined);
  }

  private onMessage(m: MessageDTO, live: boolean): void {
    const t = this.threads.get(m.conversationId);
    if (t && (t.loaded || t.loading)) {
      t.messages = mergeMessages(t.messages, [m]);
      this.changed(`thread:${m.conversationId}`);
    }
    if (live && m.senderId) this.typers.stopped(m.conversationId, m.senderId);
    if (this.convs.has(m.conversationId)) this.updateConv(m.conversationId, (c) => withMessage(c, m, this.me));
    else if (this.lists.active.loaded || this.lists.archived.loaded) void this.fetchConversation(m.conversationId);
  }

  private patch(conversationId: string, seq: number, f: (m: MessageDTO) => MessageDTO | null): void {
    const t = this.threads.get(conversationId);
    if (t) {
      t.messages = patchMessage(t.messages, seq, f);
      this.changed(`thread:${conversationId}`);
    }
    this.updateConv(conversationId, (c) => {
      if (c.lastMessage?.seq !== seq) return c;
      return { ...c, lastMessage: f(c.lastMessage) };
    });
  }

  private putConv(c: ConversationDTO): void {
    this.touched.add(c.id);
    this.convs.set(c.id, c);
    this.changed('convs');
  }

  private updateConv(id: string, f: (c: ConversationDTO) => ConversationDTO): void {
    const c = this.convs.get(id);
    this.touched.add(id);
    if (!c) return;
    const next = f(c);
    if (next === c) return;
    this.convs.set(id, next);
    this.changed('convs');
  }

  private resync(): void {
    // Events were lost past retention: reload everything in view (G3).
    for (const [archived, l] of [[false, this.lists.active], [true, this.lists.archived]] as const) {
      l.loaded = false;
      if (l.wanted > 0) void this.loadList(archived);
    }
    this.convs.clear();
    for (const [id, t] of this.threads) {
      if (!t.loaded) continue;
      this.threads.set(id, { messages: [], hasMore: true, loading: false, loaded: false, error: null });
      void this.loadPage(id, undefined);
    }
    this.typers.clear();
    this.changed('convs', 'thread:');
  }

  // ---- views plumbing ----

  private view<T>(key: string, build: () => T): T {
    if (this.views.has(key)) return this.views.get(key) as T;
    const v = build();
    this.views.set(key, v);
    return v;
  }

  private changed(...prefixes: string[]): void {
    for (const key of [...this.views.keys()]) if (prefixes.some((p) => key.startsWith(p))) this.views.delete(key);
    for (const l of [...this.listeners]) l();
  }
}

function newList(): ListState {
  return { wanted: 0, loaded: false, loading: false, error: null };
}

const stores = new WeakMap<SohbetClient, ChatStore>();

/** The one store of a client (created on first use), shared by every hook of that client. */
export function chatStore(client: SohbetClient): ChatStore {
  let s = stores.get(client);
  if (!s) stores.set(client, (s = new ChatStore(client)));
  return s;
}
