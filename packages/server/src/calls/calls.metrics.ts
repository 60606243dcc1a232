import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Call metrics on the app's registry (served at /metrics with the rest). */
export function createCallMetrics(registry: Registry) {
  return {
    started: new Counter({ name: 'sohbet_calls_started_total', help: 'Calls started, by media', labelNames: ['media'], registers: [registry] }),
    ended: new Counter({ name: 'sohbet_calls_ended_total', help: 'Calls ended, by reason', labelNames: ['reason'], registers: [registry] }),
    live: new Gauge({ name: 'sohbet_calls_live', help: 'Calls ringing, accepted or active (all instances, sampled by this one)', registers: [registry] }),
    rtt: new Histogram({ name: 'sohbet_call_rtt_ms', help: 'Round-trip time reported by call clients', buckets: [10, 25, 50, 100, 150, 250, 400, 600, 1000], registers: [registry] }),
    loss: new Histogram({ name: 'sohbet_call_packet_loss_ratio', help: 'Packet loss reported by call clients (0..1)', buckets: [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2], registers: [registry] }),
    jitter: new Histogram({ name: 'sohbet_call_jitter_ms', help: 'Jitter reported by call clients', buckets: [1, 5, 10, 20, 30, 50, 100], registers: [registry] }),
    bitrate: new Histogram({ name: 'sohbet_call_bitrate_kbps', help: 'Receive bitrate reported by call clients', buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096], registers: [registry] }),
  };
}
export type CallMetrics = ReturnType<typeof createCallMetrics>;
