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
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
