import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { SUPPORT_PRIORITIES, useChatClient, type CannedResponseDTO, type OperatorDTO, type RoutingDecisionDTO, type SupportChatDTO, type SupportNoteDTO } from '../sdk.ts';
import { SUPPORT_TOPICS, topicLabel } from './labels.ts';

const STATES = ['assigned', 'pending', 'snoozed'] as const;

/**
 * The owner's tools for the open support chat: priority, pending/snooze, transfer to an operator
 * or a team (with a note), resolve. `run` reports errors and refreshes the console.
 */
export function ChatToolbar({ chat, myId, operators, run, onLeave }: {
  chat: SupportChatDTO;
  myId: string;
  operators: readonly OperatorDTO[];
  run(p: Promise<unknown>, after?: () => void): void;
  onLeave(): void;
}) {
  const { t } = useI18n();
  const client = useChatClient();
  const [toOp, setToOp] = useState('');
  const [toTeam, setToTeam] = useState('');
  const [note, setNote] = useState('');
  const others = operators.filter((o) => o.userId !== myId);
  const done = () => {
    setToOp('');
    setToTeam('');
    setNote('');
    onLeave();
  };
  return (
    <div className="console-toolbar" role="toolbar" aria-label={chat.customer.name}>
      <strong>{chat.customer.name}</strong>
      <span className="muted"> · {topicLabel(t, chat.topic)}</span>
      <span className="spacer" />
      <label className="inline-field">
        <span>{t('support.setPriority')}</span>
        <select value={chat.priority} onChange={(e) => run(client.support.setPriority({ chatId: chat.id, priority: e.target.value as SupportChatDTO['priority'] }))} data-testid="support-priority">
          {SUPPORT_PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {t(`support.priority.${p}` as MessageKey)}
            </option>
          ))}
        </select>
      </label>
      <label className="inline-field">
        <span>{t('support.setState')}</span>
        <select value={chat.state} onChange={(e) => run(client.support.setState({ chatId: chat.id, state: e.target.value as (typeof STATES)[number] }))} data-testid="support-state">
          {STATES.map((s) => (
            <option key={s} value={s}>
              {t(`support.state.${s}` as MessageKey)}
            </option>
          ))}
        </select>
      </label>
      <label className="sr-only" htmlFor="transfer-to">
        {t('support.transferTo')}
      </label>
      <select id="transfer-to" value={toOp} onChange={(e) => setToOp(e.target.value)} data-testid="support-transfer-to" disabled={others.length === 0}>
        <option value="">{others.length === 0 ? t('support.noOperators') : t('support.transferTo')}</option>
        {others.map((o) => (
          <option key={o.userId} value={o.userId}>
            {o.name} ({t(`support.status.${o.status}` as MessageKey)}, {o.activeChats}/{o.maxChats})
          </option>
        ))}
      </select>
      <button type="button" disabled={!toOp} onClick={() => run(client.support.transfer({ chatId: chat.id, toOperatorId: toOp, note: note.trim() || undefined }), done)} data-testid="support-transfer">
        {t('support.transfer')}
      </button>
      <label className="sr-only" htmlFor="transfer-team">
        {t('support.transferTeam')}
      </label>
      <select id="transfer-team" value={toTeam} onChange={(e) => setToTeam(e.target.value)} data-testid="support-transfer-team-to">
        <option value="">{t('support.transferTeamTo')}</option>
        {SUPPORT_TOPICS.filter((tp) => tp !== chat.topic).map((tp) => (
          <option key={tp} value={tp}>
            {topicLabel(t, tp)}
          </option>
        ))}
      </select>
      <button type="button" disabled={!toTeam} onClick={() => run(client.support.transfer({ chatId: chat.id, toTopic: toTeam, note: note.trim() || undefined }), done)} data-testid="support-transfer-team">
        {t('support.transferTeam')}
      </button>
      <input className="transfer-note" value={note} onChange={(e) => setNote(e.target.value)} placeholder={t('support.transferNote')} aria-label={t('support.transferNote')} maxLength={1000} data-testid="support-transfer-note" />
      <button type="button" className="primary" onClick={() => run(client.support.resolve(chat.id), onLeave)} data-testid="support-resolve">
        {t('support.resolve')}
      </button>
    </div>
  );
}

/** Canned responses (inserted into the composer), internal notes and the routing history of the open chat. */
export function ChatSidebar({ chat, onInsert, fail }: { chat: SupportChatDTO; onInsert(text: string): void; fail(err: unknown): void }) {
  const { t, time, number } = useI18n();
  const client = useChatClient();
  const [canned, setCanned] = useState<CannedResponseDTO[]>([]);
  const [notes, setNotes] = useState<SupportNoteDTO[]>([]);
  const [history, setHistory] = useState<RoutingDecisionDTO[]>([]);
  const [draft, setDraft] = useState('');
  const [newCanned, setNewCanned] = useState({ title: '', text: '' });

  const load = useCallback(() => {
    client.support.notes(chat.id).then(setNotes, fail);
    client.support.decisions(chat.id).then(setHistory, fail);
  }, [client, chat.id, fail]);
  useEffect(() => {
    load();
    client.support.canned().then(setCanned, fail);
    // Notes of other operators arrive as `support.note.created`; the history changes with the chat's version.
    return client.on('event', (ev) => void (ev.type === 'support.note.created' && ev.data.note.chatId === chat.id && load()));
  }, [client, chat.id, chat.version, load, fail]);

  const addNote = (e: FormEvent) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text) return;
    client.support.addNote({ chatId: chat.id, text }).then(() => {
      setDraft('');
      load();
    }, fail);
  };

  const saveCanned = (e: FormEvent) => {
    e.preventDefault();
    const title = newCanned.title.trim();
    const text = newCanned.text.trim();
    if (!title || !text) return;
    client.support.addCanned({ title, text }).then((c) => {
      setCanned((list) => [...list, c].sort((a, b) => a.title.localeCompare(b.title)));
      setNewCanned({ title: '', text: '' });
    }, fail);
  };

  return (
    <aside className="console-sidebar" aria-label={t('support.notes')}>
      {chat.csat && <p data-testid="support-csat">{t('support.csat', { score: number(chat.csat.score) })}</p>}
      <label className="field">
        <span>{t('support.canned')}</span>
        <select value="" onChange={(e) => {
          const c = canned.find((x) => x.id === e.target.value);
          if (c) onInsert(c.text);
        }} data-testid="support-canned" disabled={canned.length === 0}>
          <option value="">{canned.length === 0 ? t('support.cannedNone') : t('support.canned')}</option>
          {canned.map((c) => (
            <option key={c.id} value={c.id}>
              {c.title}
              {c.topic ? ` · ${topicLabel(t, c.topic)}` : ''}
            </option>
          ))}
        </select>
      </label>
      <details className="canned-new">
        <summary>{t('support.cannedNew')}</summary>
        <form onSubmit={saveCanned} className="stack">
          <input value={newCanned.title} onChange={(e) => setNewCanned({ ...newCanned, title: e.target.value })} placeholder={t('support.cannedTitle')} aria-label={t('support.cannedTitle')} maxLength={100} data-testid="support-canned-title" />
          <textarea rows={2} value={newCanned.text} onChange={(e) => setNewCanned({ ...newCanned, text: e.target.value })} placeholder={t('support.cannedText')} aria-label={t('support.cannedText')} maxLength={4000} data-testid="support-canned-text" />
          <button type="submit" disabled={!newCanned.title.trim() || !newCanned.text.trim()} data-testid="support-canned-save">
            {t('support.cannedSave')}
          </button>
        </form>
      </details>
      <section className="notes" data-testid="support-notes">
        <h4>{t('support.notes')}</h4>
        <p className="muted small">{t('support.notesHint')}</p>
        {notes.length === 0 ? (
          <p className="muted">{t('support.notesEmpty')}</p>
        ) : (
          <ul>
            {notes.map((n) => (
              <li key={n.id} data-testid="support-note">
                <strong>{n.author.name}</strong> <time dateTime={n.createdAt}>{time(n.createdAt)}</time>
                <div>{n.text}</div>
              </li>
            ))}
          </ul>
        )}
        <form onSubmit={addNote}>
          <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={t('support.notePlaceholder')} aria-label={t('support.notePlaceholder')} maxLength={4000} data-testid="support-note-input" />
          <button type="submit" disabled={!draft.trim()} data-testid="support-note-add">
            {t('support.addNote')}
          </button>
        </form>
      </section>
      <details className="history" data-testid="support-history">
        <summary>{t('support.history')}</summary>
        <ol>
          {history.map((d, i) => (
            <li key={i}>
              <time dateTime={d.at}>{time(d.at)}</time> {(`support.kind.${d.kind}` as MessageKey) in KINDS ? t(`support.kind.${d.kind}` as MessageKey) : d.kind}
              {d.winner ? ` → ${d.winner}` : ''}
              {d.note ? ` · “${d.note}”` : ''}
            </li>
          ))}
        </ol>
      </details>
    </aside>
  );
}

const KINDS: Record<string, true> = Object.fromEntries(
  ['offer', 'offer_expired', 'pick', 'transfer', 'transfer_team', 'resolve', 'reopen', 'operator_gone'].map((k) => [`support.kind.${k}`, true]),
);
