import { useEffect, useMemo, useRef, useState } from 'react';
import type { ConversationDTO, MessageDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { Menu } from '../ui/Menu.tsx';
import { useChatClient, useConversationList, usePresenceMap } from '../sdk.ts';
import { Avatar } from './Avatar.tsx';
import { ListingCard } from './ListingCard.tsx';
import { conversationName, memberName, peerOf } from './names.ts';
import { systemText } from './notices.ts';

interface Props {
  myId: string;
  selectedId: string | null;
  onSelect(id: string, seq?: number): void;
  onNewChat(): void;
  /** Opens the call history (shown when given). */
  onOpenCalls?(): void;
}

/** Conversations, newest first: search, archive view, per-row mute/archive menu. */
export function ConversationList({ myId, selectedId, onSelect, onNewChat, onOpenCalls }: Props) {
  const { t } = useI18n();
  const client = useChatClient();
  const { conversations, loading } = useConversationList();
  const [archived, setArchived] = useState(false);
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<MessageDTO[] | null>(null);
  const listRef = useRef<HTMLUListElement>(null);

  const peers = useMemo(() => [...new Set(conversations.map((c) => peerOf(c, myId)?.userId).filter((x): x is string => !!x))], [conversations, myId]);
  const presence = usePresenceMap(peers);

  const q = query.trim().toLocaleLowerCase();
  const shown = useMemo(() => {
    const list = conversations.filter((c) => (q ? true : c.archived === archived));
    const filtered = q
      ? list.filter((c) => conversationName(c, myId, t).toLocaleLowerCase().includes(q) || (c.context?.title ?? '').toLocaleLowerCase().includes(q))
      : list;
    return [...filtered].sort((a, b) => (b.lastMessageAt ?? b.createdAt).localeCompare(a.lastMessageAt ?? a.createdAt));
  }, [conversations, archived, q, myId]);

  // Message search on the server, debounced.
  useEffect(() => {
    if (q.length < 2) {
      setFound(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      client.chat
        .search({ query: query.trim(), limit: 20 })
        .then((r: MessageDTO[]) => live && setFound(r))
        .catch(() => live && setFound([]));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q, query, client]);

  const byId = useMemo(() => new Map(conversations.map((c) => [c.id, c])), [conversations]);

  function onListKey(e: React.KeyboardEvent) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const els = [...(listRef.current?.querySelectorAll<HTMLElement>('.conv-row') ?? [])];
    const i = els.indexOf(document.activeElement as HTMLElement);
    const next = els[e.key === 'ArrowDown' ? Math.min(els.length - 1, i + 1) : Math.max(0, i - 1)];
    if (next) {
      e.preventDefault();
      next.focus();
    }
  }

  return (
    <section className="conv-list" aria-label={t('list.conversations')}>
      <div className="list-tools">
        <h2 className="list-title">{archived ? t('list.archivedTitle') : t('list.title')}</h2>
        <button type="button" className="icon-btn" onClick={() => setArchived((a) => !a)} aria-pressed={archived} aria-label={archived ? t('list.showInbox') : t('list.showArchived')} title={archived ? t('list.showInbox') : t('list.showArchived')} data-testid="toggle-archived">
          <Icon name={archived ? 'back' : 'archive'} />
        </button>
        {onOpenCalls && (
          <button type="button" className="icon-btn" onClick={onOpenCalls} aria-label={t('call.history')} title={t('call.history')} data-testid="calls-open">
            <Icon name="phone" />
          </button>
        )}
        <button type="button" className="icon-btn accent" onClick={onNewChat} aria-label={t('list.newChat')} title={t('list.newChat')} data-testid="new-chat">
          <Icon name="plus" />
        </button>
      </div>
      <div className="search" role="search">
        <Icon name="search" size={18} />
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder={t('list.searchPlaceholder')}
          aria-label={t('list.search')}
          data-testid="search"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setQuery('');
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              listRef.current?.querySelector<HTMLElement>('.conv-row')?.focus();
            }
          }}
        />
      </div>
      <div className="conv-scroll">
        {loading && conversations.length === 0 && <p className="muted pad">{t('common.loading')}</p>}
        {!loading && shown.length === 0 && <p className="muted pad">{q ? t('list.noResults') : archived ? t('list.emptyArchived') : t('list.empty')}</p>}
        <ul ref={listRef} className="conv-items" onKeyDown={onListKey}>
          {shown.map((c) => (
            <ConversationRow key={c.id} c={c} myId={myId} selected={c.id === selectedId} online={presence.get(peerOf(c, myId)?.userId ?? '')?.online} onSelect={onSelect} />
          ))}
        </ul>
        {found && found.length > 0 && (
          <>
            <h3 className="list-subtitle">{t('list.messagesFound')}</h3>
            <ul className="conv-items" data-testid="search-results">
              {found.map((m) => {
                const c = byId.get(m.conversationId);
                return (
                  <li key={m.id}>
                    <button type="button" className="conv-row result" onClick={() => onSelect(m.conversationId, m.seq)}>
                      <span className="conv-main">
                        <span className="conv-top">
                          <span className="conv-name">{c ? conversationName(c, myId, t) : m.conversationId}</span>
                        </span>
                        <span className="conv-preview">{m.text}</span>
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </div>
    </section>
  );
}

function ConversationRow({ c, myId, selected, online, onSelect }: { c: ConversationDTO; myId: string; selected: boolean; online?: boolean; onSelect(id: string): void }) {
  const { t, listTime, number } = useI18n();
  const client = useChatClient();
  const name = conversationName(c, myId, t);
  const peer = peerOf(c, myId);
  const last = c.lastMessage;
  let preview = t('list.noMessages');
  if (last) {
    const media = last.kind === 'image' ? `📷 ${t('media.photo')}` : last.kind === 'voice' ? `🎤 ${t('media.voice')}` : last.kind === 'file' ? `📎 ${t('media.file')}` : null;
    const body = last.deletedAt ? t('msg.deleted') : last.kind === 'system' ? systemText(t, last) : (last.text ?? media ?? (last.payload && 'title' in last.payload ? last.payload.title : ''));
    preview = last.senderId === myId ? `${t('list.you')}: ${body}` : c.kind === 'group' && last.senderId ? `${memberName(c, last.senderId)}: ${body}` : body;
  }
  return (
    <li className={selected ? 'conv-item selected' : 'conv-item'} data-testid="conversation" data-conversation-id={c.id}>
      <button type="button" className="conv-row" aria-current={selected ? 'true' : undefined} onClick={() => onSelect(c.id)} aria-label={`${name}${c.unreadCount ? `, ${t('list.unread', { count: c.unreadCount })}` : ''}`}>
        <Avatar name={name} id={peer?.userId ?? c.id} url={peer?.avatarUrl} size={48} online={peer ? !!online : undefined} />
        <span className="conv-main">
          <span className="conv-top">
            <span className="conv-name">{name}</span>
            {c.muted && (
              <span className="muted-icon" title={t('list.muted')} aria-label={t('list.muted')}>
                <Icon name="mute" size={14} />
              </span>
            )}
            {(c.lastMessageAt ?? last?.createdAt) && <time className="conv-time" dateTime={c.lastMessageAt ?? undefined}>{listTime(c.lastMessageAt ?? last!.createdAt)}</time>}
          </span>
          {c.context && <ListingCard listing={c.context} compact />}
          <span className="conv-bottom">
            <span className="conv-preview">{preview}</span>
            {c.unreadCount > 0 && (
              <span className={c.muted ? 'badge muted' : 'badge'} data-testid="unread-badge" aria-hidden="true">
                {number(c.unreadCount)}
              </span>
            )}
          </span>
        </span>
      </button>
      <Menu
        className="conv-menu"
        label={t('list.actions', { name })}
        testId="conversation-menu"
        items={[
          { label: c.muted ? t('list.unmute') : t('list.mute'), onSelect: () => void client.chat.setMuted({ conversationId: c.id, muted: !c.muted }), testId: 'mute' },
          { label: c.archived ? t('list.unarchive') : t('list.archive'), onSelect: () => void client.chat.setArchived({ conversationId: c.id, archived: !c.archived }), testId: 'archive' },
        ]}
      />
    </li>
  );
}
