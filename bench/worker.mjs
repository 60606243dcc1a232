/**
 * Load-generator process (forked by run.mjs; talks over IPC). Holds raw WebSocket clients,
 * and for the message workload runs an open-loop schedule: message i of a step is due at
 * t0 + i/rate whatever happened before, and its latency is measured from that intended time
 * to the moment the receiving peer's socket gets `chat.message.created` (no coordinated
 * omission). Both ends of every pair live in this process, so one clock measures both.
 */
import { closeAll, openConn } from './lib/raw-client.mjs';

const W = Number(process.env.BENCH_WORKER_ID ?? 0);
/** idx -> conn (idx is the global user index the orchestrator assigned). */
const conns = new Map();
let pairs = [];
const steps = new Map();
let unexpectedCloses = 0;

const ID_BASE = 100;
const STEP_SPAN = 10_000_000;
const CLIENT_PREFIX = `bench-${W}-`;

function onFrame(s, conn) {
  if (s.startsWith('{"id":1,')) {
    // Subscription frame. Only message events matter here; parse by substring (cheap).
    if (s.indexOf('"chat.message.created"') === -1) return;
    const k = s.indexOf('"clientId":"' + CLIENT_PREFIX);
    if (k === -1) return;
    const from = k + 12 + CLIENT_PREFIX.length;
    const dash = s.indexOf('-', from);
    const end = s.indexOf('"', dash);
    const step = steps.get(Number(s.slice(from, dash)));
    if (!step) return;
    const i = Number(s.slice(dash + 1, end));
    if (conn.idx !== step.receiver[i]) {
      step.echoes++;
      return;
    }
    if (step.recvAt[i] !== 0) step.dup++;
    else {
      step.recvAt[i] = performance.now();
      step.delivered++;
    }
    return;
  }
  if (s.startsWith('{"id":')) {
    const comma = s.indexOf(',');
    const id = Number(s.slice(6, comma));
    if (!(id >= ID_BASE)) return;
    const step = steps.get(Math.floor(id / STEP_SPAN));
    if (!step) return;
    const i = (id % STEP_SPAN) - ID_BASE;
    if (step.ackAt[i] !== 0) return;
    step.ackAt[i] = performance.now();
    step.acked++;
    if (s.startsWith('"error"', comma + 1)) {
      step.ackErrors++;
      if (step.errorSamples.length < 3) step.errorSamples.push(s.slice(0, 400));
    }
  }
}

async function connect({ wsUrl, users, concurrency }) {
  const t0 = performance.now();
  const times = [];
  const failures = [];
  let next = 0;
  async function lane() {
    while (next < users.length) {
      const u = users[next++];
      const { ok, conn } = await openConn(wsUrl, u.token, { onFrame });
      conn.idx = u.idx;
      if (ok) {
        times.push(conn.readyAt - conn.t0);
        conns.set(u.idx, conn);
        conn.ws.on('close', () => {
          if (!conn.closing) unexpectedCloses++;
        });
      } else {
        if (failures.length < 5) failures.push({ idx: u.idx, error: conn.error, closed: conn.closed });
        failures.count = (failures.count ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, users.length) }, lane));
  return { connected: times.length, failed: failures.count ?? 0, failures, ms: performance.now() - t0, times: times.map((t) => Math.round(t * 100) / 100) };
}

async function close({ idxs }) {
  const list = (idxs ?? [...conns.keys()]).map((i) => conns.get(i)).filter(Boolean);
  for (const c of list) c.closing = true;
  await closeAll(list);
  for (const c of list) conns.delete(c.idx);
  return { closed: list.length, remaining: conns.size };
}

function waitUntil(epochMs) {
  return new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));
}

async function runStep({ step: stepNo, rate, durationMs, startAt, drainMs, maxBehindMs, text }) {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const P = pairs.length;
  const st = {
    n,
    intended: new Float64Array(n),
    sentAt: new Float64Array(n),
    ackAt: new Float64Array(n),
    recvAt: new Float64Array(n),
    receiver: new Int32Array(n).fill(-1),
    sent: 0,
    acked: 0,
    delivered: 0,
    dup: 0,
    echoes: 0,
    ackErrors: 0,
    errorSamples: [],
    sendFailed: 0,
    aborted: 0,
  };
  steps.set(stepNo, st);
  const textJson = JSON.stringify(text);
  const closesBefore = unexpectedCloses;
  const cpu0 = process.cpuUsage();
  await waitUntil(startAt);
  const t0 = performance.now();
  st.t0 = t0;
  let i = 0;
  let oldest = 0; // first message not yet acknowledged (acks come back roughly in order)
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (oldest < i && st.ackAt[oldest] !== 0) oldest++;
      if (oldest < i && now - st.intended[oldest] > maxBehindMs) {
        // The server is this far behind: stop offering load rather than queue without bound.
        st.aborted = n - i;
        return resolve();
      }
      while (i < n && t0 + i * interval <= now) {
        const pair = pairs[i % P];
        const dir = Math.floor(i / P) & 1;
        const sender = conns.get(dir ? pair.b : pair.a);
        const receiver = dir ? pair.a : pair.b;
        st.intended[i] = t0 + i * interval;
        st.receiver[i] = receiver;
        if (!sender || sender.ws.readyState !== 1) st.sendFailed++;
        else {
          sender.ws.send(
            `{"id":${stepNo * STEP_SPAN + i + ID_BASE},"method":"mutation","params":{"path":"chat.send","input":{"conversationId":"${pair.conversationId}","clientId":"${CLIENT_PREFIX}${stepNo}-${i}","text":${textJson}}}}`,
          );
          st.sentAt[i] = performance.now();
          st.sent++;
        }
        i++;
      }
      if (i >= n) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  const sendEnd = performance.now();
  const drainDeadline = sendEnd + drainMs;
  while ((st.delivered < st.sent || st.acked < st.sent) && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const end = performance.now();
  st.deadline = end;
  const cpu = process.cpuUsage(cpu0);

  const lat = [];
  const ackLat = [];
  const sendLag = [];
  let lastRecv = t0;
  for (let k = 0; k < n; k++) {
    if (st.recvAt[k] !== 0) {
      lat.push(Math.round((st.recvAt[k] - st.intended[k]) * 100) / 100);
      if (st.recvAt[k] > lastRecv) lastRecv = st.recvAt[k];
    }
    if (st.ackAt[k] !== 0) ackLat.push(Math.round((st.ackAt[k] - st.intended[k]) * 100) / 100);
    if (st.sentAt[k] !== 0) sendLag.push(st.sentAt[k] - st.intended[k]);
  }
  sendLag.sort((a, b) => a - b);
  return {
    worker: W,
    n,
    sent: st.sent,
    acked: st.acked,
    delivered: st.delivered,
    dup: st.dup,
    echoes: st.echoes,
    ackErrors: st.ackErrors,
    errorSamples: st.errorSamples,
    sendFailed: st.sendFailed,
    aborted: st.aborted,
    undeliveredAtDeadline: st.sent - st.delivered,
    sendMs: sendEnd - t0,
    spanMs: lastRecv - t0,
    drainMs: end - sendEnd,
    lat,
    ackLat,
    sendLagP99: sendLag.length ? sendLag[Math.floor(sendLag.length * 0.99)] : 0,
    sendLagMax: sendLag.length ? sendLag[sendLag.length - 1] : 0,
    unexpectedCloses: unexpectedCloses - closesBefore,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (end - t0) / 1000,
  };
}

/** After all steps: messages that arrived after their step's deadline (late, not lost) or never. */
function finalCheck() {
  const out = {};
  for (const [k, st] of steps) {
    let late = 0;
    let never = 0;
    for (let i = 0; i < st.n; i++) {
      if (st.sentAt[i] === 0) continue;
      if (st.recvAt[i] === 0) never++;
      else if (st.recvAt[i] > st.deadline) late++;
    }
    out[k] = { late, never, dup: st.dup };
  }
  return out;
}

/** Messages sent in earlier steps that have not reached their receiver yet (a backlog on the server). */
function pending() {
  let n = 0;
  for (const st of steps.values()) for (let i = 0; i < st.n; i++) if (st.sentAt[i] !== 0 && st.recvAt[i] === 0) n++;
  return { pending: n };
}

const handlers = {
  pending,
  connect,
  close,
  pairs: (m) => {
    pairs = m.pairs;
    return { pairs: pairs.length };
  },
  step: runStep,
  finalCheck,
  stats: () => ({ conns: conns.size, rss: process.memoryUsage().rss, unexpectedCloses }),
  exit: async () => {
    await close({});
    setTimeout(() => process.exit(0), 50);
    return { bye: true };
  },
};

process.on('message', async (m) => {
  try {
    const result = await handlers[m.cmd](m);
    process.send({ reqId: m.reqId, ok: true, result });
  } catch (err) {
    process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
