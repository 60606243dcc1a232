import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { rows, sql, type Executor } from '../db/db.ts';

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Live-support metrics on the app's Prometheus registry. Durations are observed by the instance
 * that made the change; the queue gauge is read from the database at scrape time, so every
 * instance reports the same, whole queue (label `instance` tells the scrapes apart).
 */
export function createSupportMetrics(registry: Registry, db: Executor) {
  const labelNames = ['topic', 'priority'] as const;
  const queue = new Gauge({
    name: 'sohbet_support_queue_length',
    help: 'Support chats waiting (queued or offered), by topic and priority',
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      const r = await rows<{ topic: string; priority: string; n: number }>(db, sql`select topic, priority, count(*)::int as n from support_chats where state in ('queued', 'offered') group by topic, priority`);
      for (const x of r) this.set({ topic: x.topic, priority: x.priority }, Number(x.n));
    },
  });
  const hist = (name: string, help: string) => new Histogram({ name, help, labelNames, buckets: SECONDS, registers: [registry] });
  return {
    queue,
    /** Queued → an operator owns it (the customer's wait). */
    timeToAssign: hist('sohbet_support_time_to_assign_seconds', 'Time from entering the queue to an operator owning the chat'),
    timeToFirstResponse: hist('sohbet_support_time_to_first_response_seconds', "Time from assignment to the operator's first reply"),
    handleTime: hist('sohbet_support_handle_time_seconds', 'Time from assignment to resolve'),
    csat: new Histogram({ name: 'sohbet_support_csat_score', help: 'Customer satisfaction ratings (1-5)', labelNames, buckets: [1, 2, 3, 4, 5], registers: [registry] }),
    slaBreaches: new Counter({ name: 'sohbet_support_sla_breaches_total', help: 'SLA warnings fired (kind: wait, first_response)', labelNames: ['topic', 'priority', 'kind'], registers: [registry] }),
    autoClosed: new Counter({ name: 'sohbet_support_inactivity_closed_total', help: 'Support chats resolved for inactivity', labelNames, registers: [registry] }),
  };
}
export type SupportMetrics = ReturnType<typeof createSupportMetrics>;

export const secondsBetween = (from: Date | null, to: Date | null): number | null => (from && to ? Math.max(0, (to.getTime() - from.getTime()) / 1000) : null);
