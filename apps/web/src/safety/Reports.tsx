import { useCallback, useEffect, useState } from 'react';
import type { ReportDTO, ReportStatus, ResolveAction } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, useChatClient } from '../sdk.ts';

const STATUSES: ReportStatus[] = ['open', 'resolved', 'dismissed'];
const ACTIONS: Exclude<ResolveAction, 'dismiss'>[] = ['warn', 'delete_message', 'block', 'suspend'];

/** Moderators' review queue (token role `moderator` or `admin`): reports, their evidence, decisions. */
export function ReportsPage({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [status, setStatus] = useState<ReportStatus>('open');
  const [reports, setReports] = useState<ReportDTO[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);

  const reload = useCallback(async () => {
    try {
      setReports(await client.safety.moderation.reports({ status }));
    } catch (err) {
      toast(t('common.error', { code: errorCode(err) }), 'error');
      setReports([]);
    }
  }, [client, status, toast, t]);
  useEffect(() => {
    setReports(null);
    void reload();
  }, [reload]);

  const current = reports?.find((r) => r.id === selected) ?? null;
  return (
    <div className="support-pane reports-page" data-testid="reports-page">
      <header className="support-head">
        <button type="button" className="icon-btn" onClick={onClose} aria-label={t('common.close')}>
          <Icon name="back" />
        </button>
        <h2>{t('safety.reports')}</h2>
        <label className="field inline">
          <span className="sr-only">{t('safety.status')}</span>
          <select value={status} onChange={(e) => (setStatus(e.target.value as ReportStatus), setSelected(null))} data-testid="reports-status">
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`safety.status.${s}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
      </header>
      <div className="support-body reports-body">
        {reports === null ? (
          <p className="muted">{t('common.loading')}</p>
        ) : reports.length === 0 ? (
          <p className="muted" data-testid="reports-empty">{t('safety.none')}</p>
        ) : (
          <ul className="reports-list" aria-label={t('safety.reports')}>
            {reports.map((r) => (
              <li key={r.id}>
                <button type="button" className={r.id === selected ? 'report-row active' : 'report-row'} onClick={() => setSelected(r.id)} aria-current={r.id === selected} data-testid="report-row" data-report-id={r.id}>
                  <strong>{t(`safety.reason.${r.reason}` as MessageKey)}</strong> · {nameOf(r, r.reportedId)}
                  <span className="muted"> {t('safety.by', { name: nameOf(r, r.reporterId) })} · {new Date(r.createdAt).toLocaleString()}</span>
                  {r.reportedSuspended && <span className="badge"> {t('safety.suspended')}</span>}
                </button>
              </li>
            ))}
          </ul>
        )}
        {current && <ReportDetail key={current.id} report={current} onDone={() => (setSelected(null), void reload())} />}
      </div>
    </div>
  );
}

function nameOf(r: ReportDTO, id: string | null): string {
  if (!id) return '—';
  return r.users[id]?.name ?? id;
}

function ReportDetail({ report, onDone }: { report: ReportDTO; onDone(): void }) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [actions, setActions] = useState<Set<Exclude<ResolveAction, 'dismiss'>>>(new Set());
  const [message, setMessage] = useState('');
  const [note, setNote] = useState('');
  const [hours, setHours] = useState('');
  const [busy, setBusy] = useState(false);

  async function decide(list: ResolveAction[]) {
    setBusy(true);
    try {
      await client.safety.moderation.resolve({
        reportId: report.id, actions: list, note: note.trim() || undefined, message: message.trim() || undefined,
        suspendHours: list.includes('suspend') && hours ? Number(hours) : undefined,
      });
      toast(t('safety.done'));
      onDone();
    } catch (err) {
      toast(t('common.error', { code: errorCode(err) }), 'error');
      setBusy(false);
    }
  }
  const toggle = (a: Exclude<ResolveAction, 'dismiss'>, on: boolean) => setActions((cur) => {
    const next = new Set(cur);
    if (on) next.add(a);
    else next.delete(a);
    return next;
  });

  return (
    <section className="report-detail" aria-label={t('safety.evidence')} data-testid="report-detail">
      {report.note && <p className="report-note">“{report.note}”</p>}
      <h3>{t('safety.evidence')}</h3>
      <ol className="evidence" data-testid="evidence">
        {report.evidence.map((m) => (
          <li key={m.id} className={m.id === report.messageId ? 'evidence-msg reported' : 'evidence-msg'} data-testid={m.id === report.messageId ? 'evidence-reported' : 'evidence-msg'}>
            <strong>{nameOf(report, m.senderId)}</strong> <span>{m.text ?? t('msg.deleted')}</span>
          </li>
        ))}
      </ol>
      {report.status === 'open' ? (
        <div className="stack">
          <fieldset>
            <legend>{t('safety.actions')}</legend>
            {ACTIONS.filter((a) => a !== 'delete_message' || report.messageId).map((a) => (
              <label key={a} className="check">
                <input type="checkbox" checked={actions.has(a)} onChange={(e) => toggle(a, e.target.checked)} data-testid={`resolve-${a}`} />
                {t(`safety.action.${a}` as MessageKey)}
              </label>
            ))}
          </fieldset>
          {(actions.has('warn') || actions.has('suspend')) && (
            <label>
              <span>{t('safety.messageToUser')}</span>
              <input value={message} onChange={(e) => setMessage(e.target.value)} maxLength={1000} data-testid="resolve-message" />
            </label>
          )}
          {actions.has('suspend') && (
            <label>
              <span>{t('safety.hours')}</span>
              <input type="number" min={1} value={hours} onChange={(e) => setHours(e.target.value)} data-testid="resolve-hours" />
            </label>
          )}
          <label>
            <span>{t('safety.internalNote')}</span>
            <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} data-testid="resolve-note" />
          </label>
          <div className="dialog-actions">
            <button type="button" disabled={busy} onClick={() => void decide(['dismiss'])} data-testid="resolve-dismiss">
              {t('safety.dismiss')}
            </button>
            <button type="button" className="primary danger" disabled={busy || actions.size === 0} onClick={() => void decide([...actions])} data-testid="resolve-apply">
              {t('safety.apply')}
            </button>
          </div>
        </div>
      ) : (
        <p className="muted" data-testid="report-resolution">
          {t(`safety.status.${report.status}` as MessageKey)}: {(report.resolution?.actions ?? []).map((a) => t(`safety.action.${a}` as MessageKey)).join(', ')} · {report.resolvedBy}
        </p>
      )}
    </section>
  );
}
