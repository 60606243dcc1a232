/**
 * One open-loop 1:1 step (W2, W4, W5, W6): the workers send `rate` messages/s in total for
 * `seconds`, each checked off at its receiving peer; the servers' CPU/RSS, PostgreSQL's CPU
 * and commits, and the event loop are sampled around it. Works with one or several server
 * processes (W6: two instances behind Redis).
 */
import { machineCpu, pgStats, postgresCpu, procSample, scrapeMetrics, waitForQuiet } from './env.mjs';
import { round, summarize } from './stats.mjs';

export async function runPairStep({ servers, workers, pg, dbName, text, drainSeconds, inflightSeconds, log, step, rate, seconds, warmup = false, label = 'W2', during }) {
  const pids = [process.pid, ...servers.map((s) => s.pid), ...workers.map((w) => w.proc.pid)];
  const quiet = await waitForQuiet(pids, { log });
  const perWorker = rate / workers.length;
  const startAt = Date.now() + 300;
  await Promise.all(servers.map((s) => scrapeMetrics(s))); // resets the event-loop histogram
  const pgBefore = await pgStats(pg, dbName).catch(() => null);
  const cpuOf = () => servers.reduce((a, s) => a + procSample(s.pid).cpu, 0);
  const rssOf = () => servers.reduce((a, s) => a + procSample(s.pid).rss, 0);
  const pidsAtStart = servers.map((s) => s.pid).join(',');
  const c0 = cpuOf();
  const pg0 = postgresCpu();
  const m0 = machineCpu();
  let rssPeak = rssOf();
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf())), 500);
  const stepCall = Promise.all(
    workers.map((w) =>
      w.call('step', { step, rate: perWorker, durationMs: seconds * 1000, startAt, drainMs: drainSeconds * 1000, maxBehindMs: inflightSeconds * 1000, text }, (seconds + drainSeconds + 120) * 1000),
    ),
  );
  // Something to do to the system while the step runs (W4: drop sockets, W5: kill the server).
  const duringResult = during ? await during({ startAt }) : null;
  const res = await stepCall;
  clearInterval(sampler);
  const c1 = cpuOf();
  const pg1 = postgresCpu();
  const m1 = machineCpu();
  const metrics = await Promise.all(servers.map((s) => scrapeMetrics(s)));
  const pgAfter = await pgStats(pg, dbName).catch(() => null);
  const wall = Math.max(...res.map((r) => r.wallSeconds));
  const sent = res.reduce((a, r) => a + r.sent, 0);
  const delivered = res.reduce((a, r) => a + r.delivered, 0);
  const lat = summarize(res.flatMap((r) => r.lat));
  const ack = summarize(res.flatMap((r) => r.ackLat));
  const spanS = Math.max(...res.map((r) => r.spanMs)) / 1000;
  const genCpu = res.reduce((a, r) => a + r.cpuSeconds, 0);
  const sum = (k) => res.reduce((a, r) => a + (r[k] ?? 0), 0);
  const maxOf = (k) => Math.max(...metrics.map((m) => m[k] ?? NaN));
  const row = {
    step,
    offeredRate: rate,
    seconds,
    planned: sum('n'),
    sent,
    acked: sum('acked'),
    ackErrors: sum('ackErrors'),
    errorSamples: res.flatMap((r) => r.errorSamples).slice(0, 3),
    sendFailed: sum('sendFailed'),
    resent: sum('resent'),
    neverSent: sum('neverSent'),
    aborted: sum('aborted'),
    delivered,
    undeliveredAtDeadline: sum('undeliveredAtDeadline'),
    dup: sum('dup'),
    echoes: sum('echoes'),
    achievedRate: Math.round(delivered / Math.max(spanS, 1e-3)),
    latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 2)])),
    ackLatencyMs: { p50: round(ack.p50, 2), p99: round(ack.p99, 2), max: round(ack.max, 2) },
    generatorSendLagMs: { p99: round(Math.max(...res.map((r) => r.sendLagP99)), 2), max: round(Math.max(...res.map((r) => r.sendLagMax)), 2) },
    // A server replaced during the step (W5 restart) makes the CPU delta meaningless.
    serverCpuPct: servers.map((s) => s.pid).join(',') === pidsAtStart ? round(((c1 - c0) / wall) * 100, 0) : null,
    postgresCpuPct: round(((pg1 - pg0) / wall) * 100, 0),
    generatorCpuPct: round((genCpu / wall) * 100, 0),
    machineCpuPct: round(((m1.busy - m0.busy) / wall) * 100, 0),
    foreignCpuPct: round(((m1.busy - m0.busy - (c1 - c0) - (pg1 - pg0) - genCpu) / wall) * 100, 0),
    waitedForQuietMs: quiet.waitedMs,
    serverRssEnd: rssOf(),
    serverRssPeak: Math.max(rssPeak, rssOf()),
    eventLoopLagMs: { p50: round(maxOf('lagP50') * 1000, 2), p99: round(maxOf('lagP99') * 1000, 2), max: round(maxOf('lagMax') * 1000, 2) },
    unexpectedCloses: sum('unexpectedCloses'),
    wallSeconds: round(wall, 2),
    during: duringResult,
  };
  if (pgBefore && pgAfter && sent) {
    const d = (k) => pgAfter[k] - pgBefore[k];
    row.postgresPerMessage = { commits: round(d('commits') / sent, 2), rowsInserted: round(d('inserted') / sent, 2), rowsUpdated: round(d('updated') / sent, 2), rowsFetched: round(d('fetched') / sent, 1) };
  }
  log(
    `${warmup ? 'warm-up' : label} ${rate}/s x ${seconds}s: sent ${sent}${row.aborted ? ` (ABORTED ${row.aborted}: oldest unacknowledged send > ${inflightSeconds}s old)` : ''}, delivered ${delivered}, dup ${row.dup}, errors ${row.ackErrors}, achieved ${row.achievedRate}/s, ` +
      `p50 ${row.latencyMs.p50} p99 ${row.latencyMs.p99} p99.9 ${row.latencyMs.p999} max ${row.latencyMs.max} ms; server CPU ${row.serverCpuPct}%, pg ${row.postgresCpuPct}%, gen ${row.generatorCpuPct}%, foreign ${row.foreignCpuPct}%, loop p99 ${row.eventLoopLagMs.p99} ms`,
  );
  if (row.errorSamples.length) log('  error sample:', row.errorSamples[0]);
  return row;
}

/** After the last step: acked-but-never-delivered (lost), late, duplicates, per step, summed over workers. */
export async function finalCounts(workers, rows) {
  const fin = await Promise.all(workers.map((w) => w.call('finalCheck')));
  for (const r of rows) {
    r.lateAfterDeadline = fin.reduce((a, f) => a + (f[r.step]?.late ?? 0), 0);
    r.lost = fin.reduce((a, f) => a + (f[r.step]?.never ?? 0), 0);
    r.ackedButLost = fin.reduce((a, f) => a + (f[r.step]?.ackedNever ?? 0), 0);
    r.unsent = fin.reduce((a, f) => a + (f[r.step]?.unsent ?? 0), 0);
    r.dup = fin.reduce((a, f) => a + (f[r.step]?.dup ?? 0), 0);
  }
  return rows;
}
