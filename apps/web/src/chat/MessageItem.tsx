import { memo } from 'react';
import { systemEntryText } from '../calls/entries.ts';
import type { ConversationDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { Menu, type MenuItem } from '../ui/Menu.tsx';
import type { UiMessage } from '../sdk.ts';
import { ListingCard } from './ListingCard.tsx';
import { MessageAttachments } from '../media/Attachments.tsx';
import { memberName } from './names.ts';
import { systemText } from './notices.ts';
import type { Delivery } from './receipts.ts';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export interface MessageActions {
  reply(m: UiMessage): void;
  edit(m: UiMessage): void;
  remove(m: UiMessage, scope: 'me' | 'everyone'): void;
  react(m: UiMessage, emoji: string, on: boolean): void;
  forward(m: UiMessage): void;
  retry(m: UiMessage): void;
  discard(m: UiMessage): void;
  jumpTo(seq: number): void;
  /** Report this message to the moderators (safety); absent: no Report action. */
  report?(m: UiMessage): void;
}

interface Props {
  m: UiMessage;
  mine: boolean;
  conversation: ConversationDTO | undefined;
  delivery: Delivery | null;
  showSender: boolean;
  myId: string;
  actions: MessageActions;
}

/** One message: bubble, reply quote, listing card, reactions, time, ticks and its action menu. */
export const MessageItem = memo(function MessageItem({ m, mine, conversation, delivery, showSender, myId, actions }: Props) {
  const { t, time } = useI18n();
  const deleted = m.deletedAt !== null;
  const local = m.localState === 'pending' || m.localState === 'failed';

  if (m.kind === 'system') {
    return (
      <div className="system-msg" data-testid="message" data-seq={m.seq}>
        {systemEntryText(t, m.payload) ?? systemText(t, m)}
      </div>
    );
  }

  const items: MenuItem[] = [];
  if (!deleted && !local) {
    items.push({ label: t('msg.reply'), onSelect: () => actions.reply(m), testId: 'action-reply' });
    if (mine && m.kind === 'text') items.push({ label: t('msg.edit'), onSelect: () => actions.edit(m), testId: 'action-edit' });
    items.push({ label: t('msg.forward'), onSelect: () => actions.forward(m), testId: 'action-forward' });
    if (!mine && m.senderId && actions.report) items.push({ label: t('msg.report'), onSelect: () => actions.report!(m), danger: true, testId: 'action-report' });
  }
  if (!local) {
    items.push({ label: t('msg.deleteMe'), onSelect: () => actions.remove(m, 'me'), danger: true, testId: 'action-delete-me' });
    if (mine && !deleted) items.push({ label: t('msg.deleteEveryone'), onSelect: () => actions.remove(m, 'everyone'), danger: true, testId: 'action-delete-everyone' });
  }

  const reactionBar = !deleted && !local && (
    <div className="react-bar" role="group" aria-label={t('msg.react')}>
      {QUICK_REACTIONS.map((e) => {
        const on = m.reactions.some((r) => r.emoji === e && r.userIds.includes(myId));
        return (
          <button key={e} type="button" role="menuitem" tabIndex={-1} className={on ? 'emoji on' : 'emoji'} aria-pressed={on} aria-label={`${t('msg.react')} ${e}`} onClick={() => actions.react(m, e, !on)}>
            {e}
          </button>
        );
      })}
    </div>
  );

  return (
    <div className={`msg-row ${mine ? 'mine' : 'theirs'}`} data-testid="message" data-seq={m.seq} data-state={m.localState ?? delivery ?? ''}>
      <div className={`bubble ${deleted ? 'deleted' : ''} ${m.localState === 'failed' ? 'failed' : ''}`} tabIndex={-1} data-msg="">
        {showSender && !mine && <div className="sender">{memberName(conversation, m.senderId)}</div>}
        {m.forwarded && !deleted && <div className="forwarded">{t('msg.forwarded')}</div>}
        {m.replyTo && !deleted && (
          <button type="button" className="reply-quote" onClick={() => actions.jumpTo(m.replyTo!.seq)} aria-label={t('msg.replyTo', { name: m.replyTo.senderId === myId ? t('msg.you') : memberName(conversation, m.replyTo.senderId) || t('msg.unknownReply') })}>
            <strong>{m.replyTo.senderId === myId ? t('msg.you') : memberName(conversation, m.replyTo.senderId) || t('msg.unknownReply')}</strong>
            <span>{m.replyTo.text ?? t('msg.deleted')}</span>
          </button>
        )}
        {deleted ? (
          <p className="text deleted-text">
            <Icon name="block" size={14} /> {t('msg.deleted')}
          </p>
        ) : (
          <>
            {m.payload && m.payload.type === 'listing' && <ListingCard listing={m.payload} />}
            {m.payload && m.payload.type === 'media' && <MessageAttachments items={m.payload.attachments} conversationId={m.conversationId} seq={m.seq} mine={mine} />}
            {m.text && <p className="text" data-testid="message-text">{m.text}</p>}
          </>
        )}
        <div className="meta">
          {m.editedAt && !deleted && <span className="edited">{t('msg.edited')}</span>}
          {m.redacted && !deleted && <span className="edited" data-testid="message-redacted">{t('msg.redacted')}</span>}
          <time dateTime={m.createdAt} title={t('msg.sentAt', { time: new Date(m.createdAt).toLocaleString() })}>
            {time(m.createdAt)}
          </time>
          {mine && <Ticks state={m.localState ?? delivery ?? 'sent'} />}
        </div>
        {m.reactions.length > 0 && !deleted && (
          <div className="reactions">
            {m.reactions.map((r) => {
              const on = r.userIds.includes(myId);
              return (
                <button key={r.emoji} type="button" className={on ? 'reaction on' : 'reaction'} aria-pressed={on} aria-label={t('msg.reaction', { emoji: r.emoji, count: r.count })} onClick={() => actions.react(m, r.emoji, !on)} data-testid="reaction">
                  {r.emoji} {r.count > 1 && <span>{r.count}</span>}
                </button>
              );
            })}
          </div>
        )}
      </div>
      {m.localState === 'failed' && (
        <div className="failed-actions">
          <button type="button" className="link-btn" onClick={() => actions.retry(m)} data-testid="retry">
            <Icon name="retry" size={16} /> {t('msg.retry')}
          </button>
          <button type="button" className="link-btn" onClick={() => actions.discard(m)}>
            {t('msg.discard')}
          </button>
        </div>
      )}
      {items.length > 0 && <Menu className="msg-menu" label={t('msg.actions')} items={items} header={reactionBar} testId="message-menu" />}
    </div>
  );
});

function Ticks({ state }: { state: Delivery }) {
  const { t } = useI18n();
  const label = t(`msg.status.${state}`);
  const icon = state === 'pending' ? 'clock' : state === 'failed' ? 'alert' : state === 'sent' ? 'check' : 'checks';
  return (
    <span className={`ticks ${state}`} role="img" aria-label={label} title={label} data-testid="ticks" data-tick={state}>
      <Icon name={icon} size={16} />
    </span>
  );
}
