import type { Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Database } from '../db/db.ts';
import type { EventLog } from '../realtime/event-log.ts';
import { InProcessActive, RedisActive } from './notify.active.ts';
import { notifyRules } from './notify.rules.ts';
import { NotifyService } from './notify.service.ts';
import { NotifyWorker } from './notify.worker.ts';
import { createProviders } from './providers/registry.ts';

/** Builds the notification feature and hooks its rules into the event log (same transaction as each event). */
export function createNotify(d: { config: Config; log: Logger; clock: Clock; database: Database; metrics: Metrics; events: EventLog; fetch?: typeof fetch; notify?: { apnsCa?: string } }) {
  const cfg = d.config.notify;
  const log = d.log.child({ component: 'notify' });
  const active = d.config.redis ? new RedisActive(d.config.redis.url, d.config.redis.prefix, cfg.activeTtlMs) : new InProcessActive(cfg.activeTtlMs);
  const providers = createProviders(cfg, log, { fetch: d.fetch, apnsCa: d.notify?.apnsCa, now: () => d.clock.now() });
  const notifyWorker = new NotifyWorker({ database: d.database, clock: d.clock, log, metrics: d.metrics, config: cfg, active, providers });
  const rules = notifyRules({ clock: d.clock, messageDelayMs: cfg.messageDelayMs });
  d.events.observe({
    read: rules.read,
    inline: rules.inline,
    inlined: (n) => void (n && d.metrics.notifyEnqueued.inc(n)),
    run: async (tx, deliveries, read) => {
      const n = await rules.run(tx, deliveries, read);
      if (n) d.metrics.notifyEnqueued.inc(n);
    },
  });
  const notify = new NotifyService({ database: d.database, clock: d.clock, log, config: cfg, active, providers, worker: notifyWorker });
  return { notify, notifyWorker };
}
