import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { notifyHost } from '../auth/session.ts';
import { Icon } from '../ui/Dialog.tsx';
import { Menu, type MenuItem } from '../ui/Menu.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, useChatClient, useConversationList, useConversationMessages, usePresenceMap, useTypingUsers, type UiMessage } from '../sdk.ts';
import { Avatar } from './Avatar.tsx';
import { Composer } from './Composer.tsx';
import { ConfirmDialog, ForwardDialog } from './dialogs.tsx';
import { ListingCard } from './ListingCard.tsx';
import { MessageItem, type MessageActions } from './MessageItem.tsx';
import { conversationName, memberName, peerOf } from './names.ts';
import { CallButtons, useCalls } from '../calls/CallProvider.tsx';
import { deliveryOf } from './receipts.ts';
import { VirtualList, type VirtualListHandle } from './VirtualList.tsx';
import { ReportDialog } from '../safety/ReportDialog.tsx';

type Row = { kind: 'day'; key: string; label: string } | { kind: 'unread'; key: string } | { kind: 'msg'; key: string; m: UiMessage; showSender: boolean };

interface Props {
  conversationId: string;
  myId: string;
  focusSeq?: number;
  onBack(): void;
  /** Text to add to the composer (the support console's canned responses); a new `n` inserts again. */
  insertText?: { text: string; n: number } | null;
}

/** One conversation: header with listing and presence, windowed history, typing, composer. */
export function ConversationView({ conversationId, myId, focusSeq, onBack, insertText }: Props) {
  const { t, day, ago } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const { conversations } = useConversationList();
  const conv = conversations.find((c) => c.id === conversationId);
  const { messages, hasMore, loadOlder, loading } = useConversationMessages(conversationId);
  const typing = useTypingUsers(conversationId).filter((u) => u !== myId);
  const peer = conv ? peerOf(conv, myId) : null;
  const calls = useCalls();
  const presence = usePresenceMap(peer ? [peer.userId] : []).get(peer?.userId ?? '');
  const list = useRef<VirtualListHandle>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [replyTo, setReplyTo] = useState<UiMessage | null>(null);
  const [editing, setEditing] = useState<UiMessage | null>(null);
  const [forwarding, setForwarding] = useState<UiMessage | null>(null);
  const [confirm, setConfirm] = useState<{ text: string; label: string; run(): void } | null>(null);
  const [reporting, setReporting] = useState<UiMessage | null>(null);
  const [pendingJump, setPendingJump] = useState<number | null>(focusSeq ?? null);

  const me = conv?.members.find((m) => m.userId === myId);
  const name = conv ? conversationName(conv, myId, t) : '';

  // The first unread message when the conversation was opened; it keeps its "new messages" line.
  const [firstUnread, setFirstUnread] = useState<number | null | undefined>(undefined);
  useEffect(() => {
    setFirstUnread(undefined);
    setReplyTo(null);
    setEditing(null);
    setPendingJump(focusSeq ?? null);
  }, [conversationId, focusSeq]);
  useEffect(() => {
    if (firstUnread !== undefined || !conv || !me) return;
    setFirstUnread(conv.lastSeq > me.lastReadSeq ? me.lastReadSeq + 1 : null);
  }, [conv, me, firstUnread]);
  // The "jump to first unread" button goes away once the "new messages" line has been on screen.
  const [unreadJumped, setUnreadJumped] = useState(false);
  const section = useRef<HTMLElement>(null);
  useEffect(() => setUnreadJumped(false), [conversationId]);
  useEffect(() => {
    const scroller = section.current?.querySelector<HTMLElement>('.messages');
    if (!scroller || unreadJumped) return;
    const check = () => {
      const sep = scroller.querySelector('[data-testid=unread-separator]');
      if (!sep) return;
      const a = sep.getBoundingClientRect();
      const b = scroller.getBoundingClientRect();
      if (a.bottom > b.top && a.top < b.bottom) setUnreadJumped(true);
    };
    check();
    scroller.addEventListener('scroll', check, { passive: true });
    return () => scroller.removeEventListener('scroll', check);
  });

  const sorted = useMemo(() => {
    const sent = messages.filter((m) => !m.localState || m.localState === 'sent');
    const local = messages.filter((m) => m.localState && m.localState !== 'sent');
    return [...sent.sort((a, b) => a.seq - b.seq), ...local];
  }, [messages]);

  const firstUnreadSeq = useMemo(() => {
    if (!firstUnread) return null;
    return sorted.find((m) => m.seq >= firstUnread && m.senderId !== myId && !m.localState)?.seq ?? null;
  }, [sorted, firstUnread, myId]);

  const rows = useMemo(() => {
    const out: Row[] = [];
    let lastDay = '';
    let lastSender: string | null | undefined;
    for (const m of sorted) {
      const d = new Date(m.createdAt);
      const dayKey = `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
      if (dayKey !== lastDay) {
        out.push({ kind: 'day', key: `day:${dayKey}`, label: m.createdAt });
        lastDay = dayKey;
        lastSender = undefined;
      }
      if (firstUnreadSeq !== null && m.seq === firstUnreadSeq) {
        out.push({ kind: 'unread', key: 'unread' });
        lastSender = undefined;
      }
      out.push({ kind: 'msg', key: m.localId ?? m.clientId ?? m.id, m, showSender: conv?.kind === 'group' && m.senderId !== lastSender });
      lastSender = m.senderId;
    }
    return out;
  }, [sorted, firstUnreadSeq, conv?.kind]);

  // Read receipts: everything up to the newest message, while the reader sees the bottom.
  const lastSeq = useMemo(() => sorted.reduce((x, m) => (m.localState && m.localState !== 'sent' ? x : Math.max(x, m.seq)), 0), [sorted]);
  const marked = useRef(0);
  useEffect(() => {
    marked.current = 0;
  }, [conversationId]);
  useEffect(() => {
    const mark = () => {
      if (!atBottom || document.visibilityState !== 'visible' || !me) return;
      if (lastSeq > me.lastReadSeq && lastSeq > marked.current) {
        marked.current = lastSeq;
        client.chat.markRead({ conversationId, seq: lastSeq }).catch(() => (marked.current = 0));
      }
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [atBottom, lastSeq, me, conversationId, client]);

  // Jump to a message (search result, reply quote, first unread): page back until it is loaded.
  useEffect(() => {
    if (pendingJump === null) return;
    const row = rows.find((r) => r.kind === 'msg' && r.m.seq === pendingJump);
    if (row) {
      list.current?.scrollToKey(row.key, 80);
      setPendingJump(null);
      requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-seq="${pendingJump}"] [data-msg]`)?.focus());
    } else if (hasMore && !loading) void loadOlder();
    else if (!hasMore) setPendingJump(null);
  }, [pendingJump, rows, hasMore, loading, loadOlder]);

  const onNearTop = useCallback(() => {
    if (hasMore && !loading) void loadOlder();
  }, [hasMore, loading, loadOlder]);

  const fail = useCallback((err: unknown) => toast(t('common.error', { code: errorCode(err) }), 'error'), [toast, t]);

  const actions: MessageActions = useMemo(
    () => ({
      reply: (m) => (setEditing(null), setReplyTo(m)),
      edit: (m) => (setReplyTo(null), setEditing(m)),
      remove: (m, scope) => {
        if (scope === 'me') client.chat.delete({ conversationId, seq: m.seq, scope }).catch(fail);
        else setConfirm({ text: t('msg.deleteConfirm'), label: t('msg.deleteEveryone'), run: () => client.chat.delete({ conversationId, seq: m.seq, scope }).catch(fail) });
      },
      react: (m, emoji, on) => client.chat.react({ conversationId, seq: m.seq, emoji, on }).catch(fail),
      forward: (m) => setForwarding(m),
      retry: (m) => m.clientId && client.outbox.retry(m.clientId).catch(() => {}),
      discard: (m) => m.clientId && client.outbox.discard(m.clientId),
      jumpTo: (seq) => setPendingJump(seq),
      report: (m) => setReporting(m),
    }),
    [client, conversationId, fail, t],
  );

  const headerMenu: MenuItem[] = [];
  if (conv) {
    headerMenu.push({ label: conv.muted ? t('list.unmute') : t('list.mute'), onSelect: () => client.chat.setMuted({ conversationId, muted: !conv.muted }).catch(fail) });
    headerMenu.push({ label: conv.archived ? t('list.unarchive') : t('list.archive'), onSelect: () => client.chat.setArchived({ conversationId, archived: !conv.archived }).catch(fail) });
  }
  if (peer && conv?.kind === 'direct' && !conv.blocked) {
    headerMenu.push({ label: t('call.videoRecorded'), onSelect: () => calls.start({ conversationId, video: true, record: true }), testId: 'call-video-recorded' });
  }
  if (peer) {
    headerMenu.push(
      conv?.blocked
        ? { label: t('conv.unblock'), onSelect: () => client.users.unblock(peer.userId).catch(fail), testId: 'unblock' }
        : { label: t('conv.block'), danger: true, testId: 'block', onSelect: () => setConfirm({ text: t('conv.blockConfirm', { name: peer.name }), label: t('conv.block'), run: () => client.users.block(peer.userId).catch(fail) }) },
    );
    headerMenu.push({
      label: t('conv.report'),
      danger: true,
      testId: 'report',
      onSelect: () =>
        setConfirm({
          text: t('conv.reportConfirm', { name: peer.name }),
          label: t('conv.report'),
          run: () => {
            // Stored with the conversation as evidence and sent to the host as a user.reported webhook; the user is blocked too.
            notifyHost({ type: 'sohbet:report', userId: peer.userId, conversationId });
            client.users
              .report({ userId: peer.userId, reason: 'other', conversationId })
              .then(() => client.users.block(peer.userId))
              .then(() => toast(t('conv.reported')), fail);
          },
        }),
    });
  }

  let subtitle = '';
  if (typing.length === 1) subtitle = t('typing.one', { name: memberName(conv, typing[0]!) });
  else if (typing.length > 1) subtitle = t('typing.many', { count: typing.length });
  else if (presence?.online) subtitle = t('presence.online');
  else if (presence?.lastSeenAt) subtitle = t('presence.lastSeen', { time: ago(presence.lastSeenAt) });
  else if (peer) subtitle = t('presence.offline');
  else if (conv) subtitle = conv.members.map((m) => m.name).join(', ');

  const delivery = (m: UiMessage) => (m.senderId === myId && !m.localState && conv ? deliveryOf(m.seq, myId, conv.members) : null);

  return (
    <section ref={section} className="conv-view" aria-label={name} data-testid="conversation-view">
      <header className="conv-head">
        <button type="button" className="icon-btn back-btn" onClick={onBack} aria-label={t('conv.back')} data-testid="back">
          <Icon name="back" />
        </button>
        <Avatar name={name || '?'} id={peer?.userId ?? conversationId} url={peer?.avatarUrl} size={40} online={peer ? !!presence?.online : undefined} />
        <div className="conv-head-text">
          <h2 className="conv-head-name">{name}</h2>
          <p className={typing.length ? 'conv-head-sub typing' : 'conv-head-sub'} data-testid="conv-subtitle" aria-live="polite">
            {subtitle}
          </p>
        </div>
        {peer && conv?.kind === 'direct' && <CallButtons conversationId={conversationId} disabled={!!conv.blocked} />}
        {headerMenu.length > 0 && <Menu label={t('conv.menu')} items={headerMenu} testId="conv-menu" />}
      </header>
      {conv?.context && (
        <div className="conv-listing">
          <ListingCard listing={conv.context} />
        </div>
      )}
      <div className="messages-wrap">
        <VirtualList
          ref={list}
          items={rows}
          getKey={rowKey}
          canAnchor={isMessageRow}
          className="messages"
          label={t('conv.messages')}
          onNearTop={onNearTop}
          onBottomChange={setAtBottom}
          onKeyDown={onMessagesKey}
          header={
            <div className="history-edge" data-testid="history-edge">
              {loading ? t('conv.loadingOlder') : !hasMore ? (sorted.length ? t('conv.beginning') : t('conv.empty')) : '\u00a0'}
            </div>
          }
          render={(r) =>
            r.kind === 'day' ? (
              <div className="day-sep" role="separator">
                <span>{day(r.label)}</span>
              </div>
            ) : r.kind === 'unread' ? (
              <div className="unread-sep" role="separator" data-testid="unread-separator">
                <span>{t('conv.newMessages')}</span>
              </div>
            ) : (
              <MessageItem m={r.m} mine={r.m.senderId === myId} conversation={conv} delivery={delivery(r.m)} showSender={r.showSender} myId={myId} actions={actions} />
            )
          }
        />
        <div className="jumps">
          {firstUnreadSeq !== null && !unreadJumped && (
            <button type="button" className="jump" onClick={() => (setUnreadJumped(true), list.current?.scrollToKey('unread', 8))} data-testid="jump-unread">
              {t('conv.jumpUnread')}
            </button>
          )}
          {!atBottom && (
            <button type="button" className="jump round" onClick={() => list.current?.scrollToBottom()} aria-label={t('conv.jumpLatest')} title={t('conv.jumpLatest')} data-testid="jump-latest">
              <Icon name="down" />
            </button>
          )}
        </div>
      </div>
      <div className="typing-line" aria-hidden={typing.length === 0} data-testid="typing">
        {typing.length > 0 && (
          <>
            <span className="dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            {subtitle}
          </>
        )}
      </div>
      {conv?.blocked && (
        <p className="blocked-note" role="note">
          {t('conv.blocked')}
        </p>
      )}
      <Composer
        conversationId={conversationId}
        myId={myId}
        replyTo={replyTo ? { m: replyTo, name: replyTo.senderId === myId ? t('msg.you') : memberName(conv, replyTo.senderId) } : null}
        editing={editing}
        disabled={!!conv?.blocked}
        insertText={insertText}
        onSent={() => {
          setReplyTo(null);
          setEditing(null);
          list.current?.scrollToBottom();
        }}
        onCancel={() => {
          setReplyTo(null);
          setEditing(null);
        }}
      />
      {forwarding && (
        <ForwardDialog
          myId={myId}
          onClose={() => setForwarding(null)}
          onPick={(target) => {
            client.chat.send({ conversationId: target, forward: { conversationId, seq: forwarding.seq } }).then(() => toast(t('forward.done')), fail);
            setForwarding(null);
          }}
        />
      )}
      {reporting && <ReportDialog conversationId={conversationId} messageId={reporting.id} name={memberName(conv, reporting.senderId) || reporting.senderId || ''} onClose={() => setReporting(null)} />}
      {confirm && <ConfirmDialog text={confirm.text} confirmLabel={confirm.label} onConfirm={confirm.run} onClose={() => setConfirm(null)} />}
    </section>
  );
}

const rowKey = (r: Row) => r.key;
const isMessageRow = (r: Row) => r.kind === 'msg';

/** Arrow keys move focus between messages; Enter/ContextMenu opens the focused message's menu. */
function onMessagesKey(e: React.KeyboardEvent<HTMLElement>) {
  const target = e.target as HTMLElement;
  if (target.closest('[role=menu]')) return;
  const all = [...e.currentTarget.querySelectorAll<HTMLElement>('[data-msg]')];
  if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    e.preventDefault();
    const i = all.indexOf(target);
    const next = i === -1 ? all[e.key === 'ArrowUp' ? all.length - 1 : 0] : all[e.key === 'ArrowUp' ? i - 1 : i + 1];
    next?.focus();
    next?.scrollIntoView({ block: 'nearest' });
  } else if ((e.key === 'Enter' || e.key === 'ContextMenu') && target.hasAttribute('data-msg')) {
    e.preventDefault();
    target.closest('.msg-row')?.querySelector<HTMLButtonElement>('.msg-menu .icon-btn')?.click();
  }
}
