import { useEffect, useState } from 'react';
import type { CallDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useChatClient } from '../sdk.ts';
import { callEntryText } from './entries.ts';

/** The signed-in user's calls, newest first, refreshed whenever a call ends. */
export function CallHistory({ myId, onOpen, onClose }: { myId: string; onOpen(conversationId: string): void; onClose(): void }) {
  const client = useChatClient();
  const { t, day, time } = useI18n();
  const [calls, setCalls] = useState<CallDTO[] | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});

  useEffect(() => {
    const load = () =>
      client.calls.history({ limit: 100 }).then(async (list) => {
        setCalls(list);
        const ids = [...new Set(list.map((c) => (c.callerId === myId ? c.calleeId : c.callerId)))];
        if (ids.length) setNames(Object.fromEntries((await client.users.get(ids.slice(0, 200))).map((u) => [u.id, u.name])));
      }, () => setCalls([]));
    void load();
    return client.on('call.ended', () => void load());
  }, [client, myId]);

  return (
    <section className="call-history" aria-label={t('call.history')} data-testid="call-history">
      <header className="conv-head">
        <button type="button" className="icon-btn back-btn" onClick={onClose} aria-label={t('conv.back')}>
          <Icon name="back" />
        </button>
        <h2 className="conv-head-name">{t('call.history')}</h2>
      </header>
      {calls === null ? (
        <p className="muted pad">{t('common.loading')}</p>
      ) : calls.length === 0 ? (
        <p className="muted pad">{t('call.historyEmpty')}</p>
      ) : (
        <ul className="call-list">
          {calls.map((c) => {
            const peer = c.callerId === myId ? c.calleeId : c.callerId;
            const missed = c.calleeId === myId && (c.endReason === 'missed' || c.endReason === 'busy');
            return (
              <li key={c.id}>
                <button type="button" className={missed ? 'call-row missed' : 'call-row'} onClick={() => onOpen(c.conversationId)} data-testid="call-row" data-reason={c.endReason ?? c.state}>
                  <Icon name={c.media === 'video' ? 'video' : 'phone'} />
                  <span className="call-row-main">
                    <strong>{names[peer] ?? peer}</strong>
                    <span className="muted">
                      {c.callerId === myId ? t('call.outgoing') : t('call.incoming')} · <span data-testid="call-row-text">{callEntryText(t, c)}</span>
                    </span>
                  </span>
                  <span className="muted">
                    {day(c.createdAt)} {time(c.createdAt)}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
