import { useCallback, useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { useChatClient, type OperatorDTO, type SupportChatDTO, type SupportMetricsDTO } from '../sdk.ts';
import { topicLabel } from './labels.ts';

type Pct = SupportMetricsDTO['timeToAssign'];

/** Supervisor (admin role): live counts, p50/p95 service times, CSAT, SLA breaches, every operator's load, every open chat with reassign. */
export function SupervisorView({ operators, fail }: { operators: readonly OperatorDTO[]; fail(err: unknown): void }) {
  const { t, number } = useI18n();
  const client = useChatClient();
  const [m, setM] = useState<SupportMetricsDTO | null>(null);
  const [open, setOpen] = useState<SupportChatDTO[]>([]);
  const [target, setTarget] = useState<Record<string, string>>({});
  const load = useCallback(() => {
    client.support.metrics().then(setM, fail);
    client.support.openChats().then(setOpen, fail);
  }, [client, fail]);
  useEffect(() => {
    load();
    return client.on('event', (ev) => void (ev.type.startsWith('support.') && load()));
  }, [client, load]);

  const secs = (v: number | null) => (v === null ? t('support.noData') : t('support.seconds', { count: number(Math.round(v)) }));
  const pct = (p: Pct) => t('support.metrics.pct', { p50: secs(p.p50), p95: secs(p.p95) });
  const waiting = m?.queued.reduce((s, q) => s + q.count, 0) ?? 0;

  return (
    <section className="console-section supervisor" aria-label={t('support.supervisor')} data-testid="support-supervisor">
      <h3>{t('support.supervisor')}</h3>
      {m && (
        <dl className="metrics">
          <dt>{t('support.metrics.waiting')}</dt>
          <dd data-testid="metric-waiting">{number(waiting)}</dd>
          <dt>{t('support.metrics.assigned')}</dt>
          <dd data-testid="metric-assigned">{number(m.open.assigned)}</dd>
          <dt>{t('support.metrics.pending')}</dt>
          <dd>{number(m.open.pending + m.open.snoozed)}</dd>
          <dt>{t('support.metrics.tta')}</dt>
          <dd>{pct(m.timeToAssign)}</dd>
          <dt>{t('support.metrics.tfr')}</dt>
          <dd>{pct(m.timeToFirstResponse)}</dd>
          <dt>{t('support.metrics.ht')}</dt>
          <dd>{pct(m.handleTime)}</dd>
          <dt>{t('support.metrics.csat')}</dt>
          <dd data-testid="metric-csat">{m.csat.average === null ? t('support.noData') : t('support.metrics.csatValue', { avg: number(Math.round(m.csat.average * 10) / 10), count: number(m.csat.count) })}</dd>
          <dt>{t('support.metrics.sla')}</dt>
          <dd>{t('support.metrics.slaValue', { wait: number(m.slaBreaches.wait), fr: number(m.slaBreaches.firstResponse) })}</dd>
        </dl>
      )}
      <h4>{t('support.operatorsList')}</h4>
      <ul className="support-list" data-testid="supervisor-operators">
        {operators.map((o) => (
          <li key={o.userId}>
            <strong>{o.name}</strong> · {t(`support.status.${o.status}` as MessageKey)} · {t('support.load', { active: number(o.activeChats), max: number(o.maxChats) })}
            {!o.connected && <span className="muted"> · {t('support.status.offline')}</span>}
          </li>
        ))}
      </ul>
      <h4>{t('support.openChats')}</h4>
      <ul className="support-list" data-testid="supervisor-chats">
        {open.map((c) => (
          <li key={c.id} data-testid="supervisor-chat">
            <strong>{c.customer.name}</strong> · {topicLabel(t, c.topic)} · {t(`support.state.${c.state}` as MessageKey)}
            {c.operator && <> · {c.operator.name}</>}
            {c.operator && (
              <span className="actions">
                <select aria-label={t('support.reassignTo')} value={target[c.id] ?? ''} onChange={(e) => setTarget({ ...target, [c.id]: e.target.value })} data-testid="supervisor-reassign-to">
                  <option value="">{t('support.reassignTo')}</option>
                  {operators.filter((o) => o.userId !== c.operator?.id).map((o) => (
                    <option key={o.userId} value={o.userId}>
                      {o.name}
                    </option>
                  ))}
                </select>
                <button type="button" disabled={!target[c.id]} onClick={() => client.support.reassign({ chatId: c.id, toOperatorId: target[c.id]! }).then(load, fail)} data-testid="supervisor-reassign">
                  {t('support.reassign')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
