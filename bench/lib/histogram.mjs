/**
 * A log-bucketed latency histogram (≈1% relative error) that load generators fill cheaply and
 * the orchestrator merges by adding counts, so percentiles stay exact enough without shipping
 * millions of samples over IPC.
 */
const GROWTH = Math.log(1.01);
const OFFSET = 1; // bucket of v ms = floor(log((v + OFFSET)) / GROWTH); handles 0..∞

export function newHistogram() {
  return { counts: {}, n: 0, max: 0, min: Infinity, sum: 0 };
}

export function record(h, ms) {
  const v = ms < 0 ? 0 : ms;
  const b = Math.floor(Math.log(v + OFFSET) / GROWTH);
  h.counts[b] = (h.counts[b] ?? 0) + 1;
  h.n++;
  h.sum += v;
  if (v > h.max) h.max = v;
  if (v < h.min) h.min = v;
}

export function merge(into, h) {
  for (const [b, c] of Object.entries(h.counts)) into.counts[b] = (into.counts[b] ?? 0) + c;
  into.n += h.n;
  into.sum += h.sum;
  into.max = Math.max(into.max, h.max);
  into.min = Math.min(into.min, h.min);
  return into;
}

/** Same shape as stats.summarize(): { n, mean, p50, p90, p99, p999, max, min }. */
export function percentiles(h) {
  if (!h.n) return { n: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null, min: null };
  const keys = Object.keys(h.counts).map(Number).sort((a, b) => a - b);
  const at = (p) => {
    const rank = Math.max(1, Math.ceil(p * h.n));
    let seen = 0;
    for (const k of keys) {
      seen += h.counts[k];
      if (seen >= rank) return Math.min(h.max, Math.exp((k + 0.5) * GROWTH) - OFFSET);
    }
    return h.max;
  };
  return { n: h.n, mean: h.sum / h.n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: h.max, min: h.min };
}
