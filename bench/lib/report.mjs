/** Targets, the console table, results/<date>.json, results/latest.md and results/latency.svg (hand-written SVG). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmtBytes, fmtMs } from './stats.mjs';

/** A latency with its unit: fmtMs already says "s" for ≥ 10 s; smaller values get " ms". */
const withMs = (v) => (v !== null && v !== undefined && v >= 10_000 ? fmtMs(v) : `${fmtMs(v)} ms`);

export const TARGETS = {
  throughput: '≥ 5,000 persisted msgs/s sustained with 100% delivery',
  p99: 'p99 ≤ 50 ms at 2,000 msg/s with 5,000 connected clients',
  idle: 'idle connection ≤ 15 KB server RSS',
  resume: 'resume of 1,000 events ≤ 200 ms',
};

const complete = (r) => r.aborted === 0 && (r.lost ?? r.undeliveredAtDeadline) === 0 && r.dup === 0 && r.ackErrors === 0 && r.sendFailed === 0 && r.delivered === r.planned;

export function evaluate(res) {
  const out = {};
  const big = res.w2.filter((r) => r.offeredRate >= 5000).sort((a, b) => b.offeredRate - a.offeredRate)[0];
  if (!big) out.throughput = { verdict: 'NOT RUN', detail: 'no W2 step at ≥ 5,000 msg/s' };
  else {
    const sustained = complete(big) && big.achievedRate >= 0.97 * big.offeredRate && big.latencyMs.p99 !== null && big.latencyMs.p99 < 1000;
    const best = res.w2.filter((r) => complete(r) && r.latencyMs.p99 < 1000).sort((a, b) => b.achievedRate - a.achievedRate)[0];
    out.throughput = {
      verdict: sustained ? 'PASS' : 'MISS',
      detail:
        `offered ${big.offeredRate}/s: achieved ${big.achievedRate}/s, delivered ${big.delivered}/${big.planned}` +
        `${big.aborted ? `, aborted ${big.aborted} (server fell > backlog limit behind)` : ''}, lost ${big.lost ?? '?'}, dup ${big.dup}, p99 ${withMs(big.latencyMs.p99)}` +
        (best ? `; highest rate sustained with 100% delivery and p99 < 1 s: ${best.achievedRate}/s (offered ${best.offeredRate}/s)` : ''),
    };
  }
  const at2k = res.w2.find((r) => r.offeredRate === 2000);
  if (!at2k) out.p99 = { verdict: 'NOT RUN', detail: 'no W2 step at 2,000 msg/s' };
  else {
    const enough = at2k.connectedClients >= 5000;
    out.p99 = {
      verdict: !enough ? 'N/A' : at2k.latencyMs.p99 !== null && at2k.latencyMs.p99 <= 50 && complete(at2k) ? 'PASS' : 'MISS',
      detail: `p99 ${withMs(at2k.latencyMs.p99)} (p50 ${fmtMs(at2k.latencyMs.p50)}, p99.9 ${fmtMs(at2k.latencyMs.p999)}, max ${fmtMs(at2k.latencyMs.max)}) with ${at2k.connectedClients} clients, delivered ${at2k.delivered}/${at2k.planned}${enough ? '' : ' — fewer than 5,000 clients, target not applicable'}`,
    };
  }
  const idle = res.w1.filter((r) => !r.skipped && r.failed === 0).sort((a, b) => b.connections - a.connections)[0];
  if (!idle) out.idle = { verdict: 'NOT RUN', detail: 'no W1 measurement' };
  else
    out.idle = {
      verdict: idle.rssPerConnection <= 15_000 ? 'PASS' : 'MISS',
      detail: `${(idle.rssPerConnection / 1000).toFixed(1)} KB RSS per connection at ${idle.connections} connections (heap ${idle.heapPerConnection ? (idle.heapPerConnection / 1000).toFixed(1) + ' KB' : '—'})`,
    };
  if (!res.resume) out.resume = { verdict: 'NOT RUN', detail: '' };
  else
    out.resume = {
      verdict: res.resume.allReceived && res.resume.medianMs <= 200 ? 'PASS' : 'MISS',
      detail: `median ${res.resume.medianMs} ms, worst ${res.resume.maxMs} ms over ${res.resume.trials.length} trials (reconnect → ${res.resume.events}th event), all received in order: ${res.resume.allReceived}`,
    };
  return out;
}

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(w[i])).join('  ');
  return [line(headers), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}
function mdTable(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function w1Rows(res) {
  return res.w1
    .filter((r) => !r.skipped)
    .map((r) => [
      r.connections,
      r.failed,
      r.connectRate,
      fmtMs(r.connectLatencyMs.p99),
      fmtBytes(r.rssDelta),
      (r.rssPerConnection / 1000).toFixed(1),
      r.rssPerConnectionMarginal ? (r.rssPerConnectionMarginal / 1000).toFixed(1) : '—',
      r.heapPerConnection ? (r.heapPerConnection / 1000).toFixed(1) : '—',
    ]);
}
const W1H = ['conns', 'failed', 'conn/s', 'conn p99 ms', 'RSS delta', 'KB/conn', 'marginal KB/conn', 'heap KB/conn'];

function w2Rows(res) {
  return res.w2.map((r) => [
    r.offeredRate,
    r.achievedRate,
    `${r.delivered}/${r.sent}`,
    r.lost ?? r.undeliveredAtDeadline,
    r.dup,
    r.ackErrors,
    r.aborted,
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p99),
    fmtMs(r.latencyMs.p999),
    fmtMs(r.latencyMs.max),
    r.serverCpuPct,
    r.postgresCpuPct,
    r.generatorCpuPct,
    r.foreignCpuPct ?? '—',
    fmtBytes(r.serverRssPeak),
    fmtMs(r.eventLoopLagMs.p99),
  ]);
}
const W2H = ['offered/s', 'achieved/s', 'delivered', 'lost', 'dup', 'errors', 'aborted', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'srv CPU%', 'pg CPU%', 'gen CPU%', 'other CPU%', 'srv RSS peak', 'loop p99 ms'];

export function svgChart(res) {
  const rows = res.w2.filter((r) => r.latencyMs.n > 0);
  const W = 760;
  const H = 440;
  const m = { l: 70, r: 150, t: 40, b: 70 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const series = [
    ['p50', 'p50', '#1b9e77'],
    ['p99', 'p99', '#d95f02'],
    ['p999', 'p99.9', '#7570b3'],
    ['max', 'max', '#999999'],
  ];
  const vals = rows.flatMap((r) => series.map(([k]) => r.latencyMs[k])).filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, 50) || 1)));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, 50) || 10)));
  const y = (v) => m.t + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const x = (i) => m.l + (rows.length === 1 ? pw / 2 : (i / (rows.length - 1)) * pw);
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${m.l}" y="22" font-size="15" font-weight="bold">Sohbet W2: delivery latency (intended send → peer receives) vs offered rate</text>`);
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y(d) + 4}" text-anchor="end">${withMs(d)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(50)}" y2="${y(50)}" stroke="#c00" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${m.l + pw + 6}" y="${y(50) + 4}" fill="#c00">50 ms target</text>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#333"/><line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  rows.forEach((r, i) => {
    parts.push(`<text x="${x(i)}" y="${m.t + ph + 18}" text-anchor="middle">${r.offeredRate}/s</text>`);
    parts.push(`<text x="${x(i)}" y="${m.t + ph + 34}" text-anchor="middle" fill="#666">got ${r.achievedRate}/s</text>`);
    if (r.aborted || (r.lost ?? 0) > 0) parts.push(`<text x="${x(i)}" y="${m.t + ph + 50}" text-anchor="middle" fill="#c00">${r.aborted ? 'overloaded' : `lost ${r.lost}`}</text>`);
  });
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle">offered rate (open loop, ${rows[0]?.connectedClients ?? '?'} connected clients)</text>`);
  series.forEach(([k, label, color], si) => {
    const pts = rows.map((r, i) => `${x(i).toFixed(1)},${y(r.latencyMs[k]).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    rows.forEach((r, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(r.latencyMs[k]).toFixed(1)}" r="3" fill="${color}"><title>${esc(label)} ${withMs(r.latencyMs[k])} at ${r.offeredRate}/s</title></circle>`));
    parts.push(`<rect x="${m.l + pw + 12}" y="${m.t + 10 + si * 20}" width="14" height="3" fill="${color}"/><text x="${m.l + pw + 32}" y="${m.t + 15 + si * 20}">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeReports(res, outDir) {
  mkdirSync(outDir, { recursive: true });
  res.targets = evaluate(res);
  const stamp = res.startedAt.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const jsonPath = path.join(outDir, `${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(res, null, 2));
  const svgPath = path.join(outDir, 'latency.svg');
  if (res.w2.length) writeFileSync(svgPath, svgChart(res));

  // Console
  const c = [];
  c.push('');
  if (res.w1.length) c.push('W1 idle connections (server RSS from /proc/<pid>/status)', table(W1H, w1Rows(res)), '');
  if (res.w2.length) c.push(`W2 1:1 messages on PostgreSQL, open loop, ${res.w2[0].connectedClients} clients, latency from intended send time to the peer's event`, table(W2H, w2Rows(res)), '');
  if (res.resume) c.push(`Resume: ${res.resume.trials.map((t) => `${t.nthEventMs} ms`).join(', ')} (median ${res.resume.medianMs} ms)`, '');
  c.push('Targets');
  for (const [k, v] of Object.entries(res.targets)) c.push(`  ${v.verdict.padEnd(7)} ${TARGETS[k]} — ${v.detail}`);
  c.push('', `Generator: ${res.environment.generator}`);
  console.log(c.join('\n'));

  // Markdown
  const md = [];
  md.push(`# Sohbet benchmark — ${res.startedAt}`, '');
  md.push(`Run with \`npm run bench${res.options.quick ? ' -- --quick' : ''}\` in ${res.durationSeconds} s. Raw data: \`${path.basename(jsonPath)}\`. See bench/README.md for how to read this.`, '');
  md.push('## Targets', '', '| target | verdict | measured |', '|---|---|---|');
  for (const [k, v] of Object.entries(res.targets)) md.push(`| ${TARGETS[k]} | **${v.verdict}** | ${v.detail} |`);
  md.push('');
  const e = res.environment;
  md.push('## Environment', '');
  md.push(`- ${e.cpus} × ${e.cpuModel}, ${fmtBytes(e.memTotal)} RAM, Node ${e.node}, ulimit -n ${e.ulimitN}`);
  md.push(`- Server: \`sohbet start\` child process, NODE_ENV=production, LOG_LEVEL=warn, ${e.database}, bus ${e.bus}, DATABASE_POOL_SIZE ${res.options.pool ?? 'default (10)'}`);
  md.push(`- Load generator: ${e.generator}. PostgreSQL runs on the same host too, so server + database + generator share ${e.cpus} cores.`);
  md.push(`- Code: ${e.git.commit}${e.git.dirtyServerFiles.length ? ` with uncommitted server changes in the working tree: ${e.git.dirtyServerFiles.map((f) => `\`${f}\``).join(', ')}` : ''}`);
  md.push('');
  if (res.w1.length) md.push('## W1 — idle connections', '', 'Each connection is authenticated and has `sync.events` open (waited for `sync.ready`). RSS delta is against the server before any socket; "marginal" is the delta between two steps.', '', mdTable(W1H, w1Rows(res)), '');
  if (res.w2.length) {
    md.push('## W2 — 1:1 messages persisted on PostgreSQL (open loop)', '');
    md.push(
      `${res.w2[0].connectedClients} connected clients in ${res.w2[0].connectedClients / 2} pairs; each step offers a fixed rate for ${res.w2[0].seconds} s (message i is due at t0 + i/rate whether or not earlier ones finished). ` +
        'Latency is from the intended send time to the receiving peer\'s `chat.message.created`; every message has a unique clientId and is checked off at the receiver (lost = never arrived by the end of the run, dup = arrived twice). ' +
        `A step is aborted (the rest of its schedule is not sent) when the oldest unacknowledged send is more than ${res.options.inflightSeconds} s old (the server cannot keep up); "delivered" counts within the step plus its drain window, of the messages actually sent; late arrivals after that are counted in the JSON (lateAfterDeadline), "lost" = never arrived by the end of the run. CPU % is of one core (200% = the whole ${e.cpus}-core machine); "other CPU%" is work on the host that is neither the server, PostgreSQL nor the generator (other people's test runs) — a step with a large value there is contaminated.`,
      '',
    );
    md.push(mdTable(W2H, w2Rows(res)), '');
    md.push('![latency percentiles vs offered rate](latency.svg)', '');
    const extra = res.w2.map((r) => [r.offeredRate, fmtMs(r.ackLatencyMs.p50), fmtMs(r.ackLatencyMs.p99), fmtMs(r.generatorSendLagMs.p99), r.machineCpuPct, r.postgresPerMessage ? `${r.postgresPerMessage.commits} / ${r.postgresPerMessage.rowsInserted} / ${r.postgresPerMessage.rowsUpdated}` : '—', r.unexpectedCloses]);
    md.push(mdTable(['offered/s', 'ack p50 ms', 'ack p99 ms', 'generator lag p99 ms', 'machine CPU%', 'pg commits / rows ins / rows upd per msg', 'unexpected closes'], extra), '');
  }
  if (res.resume) {
    md.push('## Resume', '', `A client learns its cursor, goes offline, ${res.resume.events} messages are sent to it, it reconnects with \`lastEventId\`. Clock starts before the new socket is created.`, '');
    md.push(mdTable(['trial', 'received', 'in order', 'socket open ms', '1st event ms', `${res.resume.events}th event ms`, 'sync.ready ms'], res.resume.trials.map((t) => [t.trial, t.received, t.inOrder, t.openMs, t.firstEventMs, t.nthEventMs, t.readyMs])), '');
  }
  if (res.queries) md.push('## PostgreSQL round trips', '', '```json', JSON.stringify(res.queries, null, 2), '```', '');
  if (res.profile) {
    md.push(`## Server CPU profile (${res.profile.scope ?? 'whole run, `node --cpu-prof`'})`, '', `Total ${res.profile.totalMs} ms sampled, idle ${res.profile.idlePct}%.`, '');
    md.push('By package (self time):', '', mdTable(['package', 'ms', '%'], res.profile.byPackage.map((p) => [p.name, p.ms, p.pct])), '');
    md.push('Top functions (self time):', '', mdTable(['function', 'ms', '%'], res.profile.topSelf.map((p) => [`\`${p.name}\``, p.ms, p.pct])), '');
    md.push('Sohbet functions (inclusive time):', '', mdTable(['function', 'ms', '%'], res.profile.sohbetInclusive.map((p) => [`\`${p.name}\``, p.ms, p.pct])), '');
  }
  const mdPath = path.join(outDir, 'latest.md');
  writeFileSync(mdPath, md.join('\n'));
  return [jsonPath, mdPath, ...(res.w2.length ? [svgPath] : [])];
}
