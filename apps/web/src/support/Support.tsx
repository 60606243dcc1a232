import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { ConversationView } from '../chat/ConversationView.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, newClientId, useChatClient, useConversationList, useMySupportChats, useOperatorData, type OperatorStatus, type SupportChatDTO } from '../sdk.ts';
import { ChatSidebar, ChatToolbar } from './ChatTools.tsx';
import { SUPPORT_TOPICS, topicLabel } from './labels.ts';
import { Rating } from './Rating.tsx';
import { SupervisorView } from './Supervisor.tsx';

export { SUPPORT_TOPICS };
const STATUSES: OperatorStatus[] = ['available', 'away', 'offline'];

/** Re-renders every 30 s, for waiting times. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(id);
  }, []);
  return now;
}

function useFail(): (err: unknown) => void {
  const { t } = useI18n();
  const toast = useToast();
  return useCallback((err: unknown) => toast(t('common.error', { code: errorCode(err) }), 'error'), [toast, t]);
}

/** State line above a customer's support chat: queue place and wait, operator joined, resolved. */
function SupportStatus({ chat, onRated }: { chat: SupportChatDTO; onRated(): void }) {
  const { t, number } = useI18n();
  const fail = useFail();
  const waiting = chat.state === 'queued' || chat.state === 'offered';
  return (
    <div className={`support-status state-${chat.state}`} role="status" aria-live="polite" data-testid="support-status" data-state={chat.state}>
      <strong>{t(`support.state.${chat.state}` as MessageKey)}</strong>
      <span className="muted"> · {topicLabel(t, chat.topic)}</span>
      {waiting && (
        <div className="support-sub">
          {chat.position != null && <span data-testid="support-position">{t('support.position', { position: number(chat.position) })}</span>}{' '}
          <span>
            {chat.waitEstimate
              ? t('support.wait', { min: number(Math.max(1, Math.round(chat.waitEstimate.minSeconds / 60))), max: number(Math.max(1, Math.round(chat.waitEstimate.maxSeconds / 60))) })
              : t('support.waitUnknown')}
          </span>
        </div>
      )}
      {chat.operator && chat.state !== 'resolved' && !waiting && (
        <div className="support-sub" data-testid="support-joined">
          {t('support.joined', { name: chat.operator.name })}
        </div>
      )}
      {chat.state === 'resolved' && (
        <>
          <div className="support-sub" data-testid="support-resolved">
            {t('support.resolvedNote')}
          </div>
          <Rating chat={chat} fail={fail} onRated={onRated} />
        </>
      )}
    </div>
  );
}

/** Customer: start a support chat (topic + first message), follow it in the queue, then chat. */
export function CustomerSupport({ myId, onClose }: { myId: string; onClose(): void }) {
  const { t, ago } = useI18n();
  const client = useChatClient();
  const fail = useFail();
  const { chats, loading, refresh } = useMySupportChats();
  const [selected, setSelected] = useState<string | null>(null);
  const [composing, setComposing] = useState(false);
  const [topic, setTopic] = useState<string>(SUPPORT_TOPICS[0]);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);

  const current = selected ? chats.find((c) => c.id === selected) : composing ? undefined : chats.find((c) => c.state !== 'resolved');

  const start = (e: FormEvent) => {
    e.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    client.support
      .start({ topic, text: body, clientId: newClientId() })
      .then((chat) => {
        setText('');
        setComposing(false);
        setSelected(chat.id);
        refresh();
      }, fail)
      .finally(() => setBusy(false));
  };

  return (
    <section className="support-pane" aria-label={t('support.title')} data-testid="support-widget">
      <header className="support-head">
        <button type="button" className="icon-btn" onClick={onClose} aria-label={t('support.back')} title={t('support.back')}>
          <Icon name="back" />
        </button>
        <h2>{t('support.title')}</h2>
        {current && (
          <button
            type="button"
            className="link-btn"
            onClick={() => {
              setSelected(null);
              setComposing(true);
            }}
            data-testid="support-new"
          >
            <Icon name="plus" size={16} /> {t('support.new')}
          </button>
        )}
      </header>
      {current ? (
        <div className="support-chat">
          <SupportStatus chat={current} onRated={refresh} />
          {/* Attachments: support chats are ordinary conversations, so the chat composer's attach button (media feature) serves them here too. */}
          <ConversationView key={current.conversationId} conversationId={current.conversationId} myId={myId} onBack={() => setSelected(null)} />
        </div>
      ) : (
        <div className="support-body">
          <form className="support-form" onSubmit={start} aria-label={t('support.new')} data-testid="support-form">
            <fieldset className="topic-picker">
              <legend>{t('support.topic')}</legend>
              {SUPPORT_TOPICS.map((tp) => (
                <label key={tp} className={tp === topic ? 'chip selected' : 'chip'}>
                  <input type="radio" name="support-topic" value={tp} checked={tp === topic} onChange={() => setTopic(tp)} data-testid={`support-topic-${tp}`} />
                  {t(`support.topic.${tp}` as MessageKey)}
                </label>
              ))}
            </fieldset>
            <label className="field">
              <span>{t('support.firstMessage')}</span>
              <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} data-testid="support-text" maxLength={4000} />
            </label>
            <button type="submit" className="primary" disabled={busy || !text.trim()} data-testid="support-start">
              {t('support.start')}
            </button>
          </form>
          <h3>{t('support.mine')}</h3>
          {loading ? (
            <p className="muted">{t('common.loading')}</p>
          ) : chats.length === 0 ? (
            <p className="muted">{t('support.none')}</p>
          ) : (
            <ul className="support-list">
              {chats.map((c) => (
                <li key={c.id}>
                  <button type="button" className="support-row" onClick={() => setSelected(c.id)} data-testid="support-mine-row">
                    <strong>{topicLabel(t, c.topic)}</strong> <span className={`badge state-${c.state}`}>{t(`support.state.${c.state}` as MessageKey)}</span>
                    <span className="muted row-sub">
                      {c.firstMessage} · {ago(c.queuedAt)}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

/** Operator: status, offers, the queue, own chats; the selected chat with transfer and resolve. */
export function OperatorConsole({ myId, supervisor = false, onClose }: { myId: string; supervisor?: boolean; onClose(): void }) {
  const { t, number } = useI18n();
  const client = useChatClient();
  const fail = useFail();
  const now = useNow();
  const { me, queue, myChats, operators, loading, refresh } = useOperatorData();
  const [selected, setSelected] = useState<string | null>(null);
  const [insert, setInsert] = useState<{ text: string; n: number } | null>(null);
  const toast = useToast();
  // Unread counts of my chats come from the conversations (the same seq numbers as everywhere, G4).
  const { conversations } = useConversationList();
  const unread = new Map(conversations.map((c) => [c.id, c.unreadCount]));
  useEffect(
    () => client.on('event', (ev) => void (ev.type === 'support.sla.warning' && toast(t('support.slaWarning', { topic: topicLabel(t, ev.data.topic) }), 'error'))),
    [client, toast, t],
  );
  // The chosen status shows at once; the server's answer (or an error) settles it.
  const [chosen, setChosen] = useState<OperatorStatus | null>(null);
  const status = chosen ?? me?.status;
  const setStatus = (s: OperatorStatus) => {
    setChosen(s);
    client.support.updateMe({ status: s }).then(
      (op) => {
        setChosen(op.status);
        refresh();
      },
      (err: unknown) => {
        setChosen(null);
        fail(err);
      },
    );
  };
  useEffect(() => {
    if (chosen && me?.status === chosen) setChosen(null);
  }, [chosen, me?.status]);

  const run = (p: Promise<unknown>, after?: () => void) => void p.then(() => {
    after?.();
    refresh();
  }, fail);

  const offers = myChats.filter((c) => c.state === 'offered' && c.offeredTo === myId);
  const mine = myChats.filter((c) => c.state !== 'offered' && c.state !== 'resolved' && c.operator?.id === myId);
  const current = selected ? myChats.find((c) => c.id === selected && c.operator?.id === myId && c.state !== 'resolved') : undefined;
  const waited = (c: SupportChatDTO) => t('support.minutes', { count: number(Math.max(0, Math.floor((now - Date.parse(c.queuedAt)) / 60_000))) });

  return (
    <section className={current ? 'support-pane console has-chat' : 'support-pane console'} aria-label={t('support.console')} data-testid="operator-console">
      <div className="console-side">
        <header className="support-head">
          <button type="button" className="icon-btn" onClick={onClose} aria-label={t('support.back')} title={t('support.back')}>
            <Icon name="back" />
          </button>
          <h2>{t('support.console')}</h2>
        </header>
        <fieldset className="status-switch" data-testid="operator-status" data-status={me?.status ?? ''}>
          <legend>{t('support.status')}</legend>
          {STATUSES.map((s) => (
            <label key={s} className={status === s ? `chip selected status-${s}` : `chip status-${s}`}>
              <input type="radio" name="operator-status" value={s} checked={status === s} onChange={() => setStatus(s)} data-testid={`operator-status-${s}`} />
              {t(`support.status.${s}` as MessageKey)}
            </label>
          ))}
          {me && <span className="muted load">{t('support.load', { active: number(me.activeChats), max: number(me.maxChats) })}</span>}
        </fieldset>

        {offers.length > 0 && (
          <section aria-label={t('support.offers')} className="console-section offers" aria-live="assertive">
            <h3>{t('support.offers')}</h3>
            <ul className="support-list">
              {offers.map((c) => (
                <li key={c.id} className="offer" data-testid="support-offer">
                  <div>
                    <strong>{t('support.offer', { name: c.customer.name, topic: topicLabel(t, c.topic) })}</strong>
                    <div className="muted row-sub">{c.firstMessage}</div>
                  </div>
                  <div className="actions">
                    <button type="button" className="primary" onClick={() => run(client.support.accept(c.id), () => setSelected(c.id))} data-testid="support-accept">
                      {t('support.accept')}
                    </button>
                    <button type="button" onClick={() => run(client.support.decline(c.id))} data-testid="support-decline">
                      {t('support.decline')}
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          </section>
        )}

        <section aria-label={t('support.queue')} className="console-section">
          <h3>
            {t('support.queue')} <span className="muted">({number(queue.length)})</span>
          </h3>
          {loading ? (
            <p className="muted">{t('common.loading')}</p>
          ) : queue.length === 0 ? (
            <p className="muted">{t('support.queueEmpty')}</p>
          ) : (
            <ul className="support-list" data-testid="support-queue">
              {queue.map((c) => (
                <li key={c.id} className={`queue-row prio-${c.priority}`} data-testid="support-queue-row">
                  <div>
                    <strong>{c.customer.name}</strong> · {topicLabel(t, c.topic)}
                    <div className="muted row-sub">
                      <span className={`badge prio-${c.priority}`}>{t('support.priority', { priority: t(`support.priority.${c.priority}` as MessageKey) })}</span> · {t('support.waiting', { time: waited(c) })} ·{' '}
                      {t(`support.state.${c.state}` as MessageKey)}
                    </div>
                    <div className="row-sub">{c.firstMessage}</div>
                  </div>
                  {c.offeredTo !== myId && (
                    <button type="button" onClick={() => run(client.support.pick(c.id), () => setSelected(c.id))} aria-label={`${t('support.pick')}: ${c.customer.name}`} data-testid="support-pick">
                      {t('support.pick')}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>

        {supervisor && <SupervisorView operators={operators} fail={fail} />}

        <section aria-label={t('support.myChats')} className="console-section">
          <h3>{t('support.myChats')}</h3>
          {mine.length === 0 ? (
            <p className="muted">{t('support.myChatsEmpty')}</p>
          ) : (
            <ul className="support-list">
              {mine.map((c) => (
                <li key={c.id}>
                  <button
                    type="button"
                    className={c.id === current?.id ? 'support-row selected' : 'support-row'}
                    aria-current={c.id === current?.id ? 'true' : undefined}
                    aria-label={t('support.openChat', { name: c.customer.name })}
                    onClick={() => setSelected(c.id)}
                    data-testid="support-my-chat"
                  >
                    <strong>{c.customer.name}</strong> · {topicLabel(t, c.topic)} <span className={`badge state-${c.state}`}>{t(`support.state.${c.state}` as MessageKey)}</span>
                    {(unread.get(c.conversationId) ?? 0) > 0 && (
                      <span className="badge unread" aria-label={t('list.unread', { count: unread.get(c.conversationId)! })} data-testid="support-unread">
                        {number(unread.get(c.conversationId)!)}
                      </span>
                    )}
                    <span className="muted row-sub">{c.firstMessage}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <div className="console-main">
        {current ? (
          <>
            <ChatToolbar chat={current} myId={myId} operators={operators} run={run} onLeave={() => setSelected(null)} />
            <div className="console-chat">
              {/* Attachments: support chats are ordinary conversations, so the chat composer's attach button (media feature) serves them here too. */}
              <ConversationView key={current.conversationId} conversationId={current.conversationId} myId={myId} onBack={() => setSelected(null)} insertText={insert} />
              <ChatSidebar chat={current} fail={fail} onInsert={(text) => setInsert((x) => ({ text, n: (x?.n ?? 0) + 1 }))} />
            </div>
          </>
        ) : (
          <div className="empty-pane">
            <p>{t('support.selectChat')}</p>
          </div>
        )}
      </div>
    </section>
  );
}
