import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics served at /metrics; one registry per app so tests can build several. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sohbet_' });
  return {
    registry,
    connections: new Gauge({ name: 'sohbet_ws_connections', help: 'Open WebSocket connections on this instance', registers: [registry] }),
    calls: new Counter({ name: 'sohbet_procedure_calls_total', help: 'tRPC procedure calls by path and result code', labelNames: ['path', 'result'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'sohbet_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    // ---- notify ----
    notifyOutcomes: new Counter({
      name: 'sohbet_notify_outcomes_total',
      help: 'Notification attempts by channel, kind and outcome (accepted, delivered, retry, dead, skipped, invalid_token)',
      labelNames: ['channel', 'kind', 'outcome'],
      registers: [registry],
    }),
    notifyEnqueued: new Counter({ name: 'sohbet_notify_enqueued_total', help: 'Outbox rows written by the notification rules', registers: [registry] }),
    notifyOutbox: new Gauge({ name: 'sohbet_notify_outbox_rows', help: 'Notification outbox rows by state (sampled by the worker)', labelNames: ['state'], registers: [registry] }),
    notifySendSeconds: new Histogram({
      name: 'sohbet_notify_send_seconds',
      help: 'Provider call duration per batch',
      labelNames: ['channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
