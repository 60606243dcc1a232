/** Exact percentiles over a sorted copy (the sample sizes here are small enough to keep every value). */
export function summarize(values) {
  const a = Float64Array.from(values).sort();
  const n = a.length;
  const q = (p) => (n ? a[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] : null);
  let sum = 0;
  for (const v of a) sum += v;
  return { n, mean: n ? sum / n : null, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: n ? a[n - 1] : null, min: n ? a[0] : null };
}

export const round = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

export function fmtMs(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 100) return `${Math.round(v)}`;
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** fmtMs with its unit: "42.0 ms", "12.3 s". */
export function fmtDuration(v) {
  const s = fmtMs(v);
  return s.endsWith(' s') || s === '—' ? s : `${s} ms`;
}

export function fmtBytes(b) {
  if (b === null || b === undefined) return '—';
  if (Math.abs(b) >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  if (Math.abs(b) >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (Math.abs(b) >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${Math.round(b)} B`;
}
