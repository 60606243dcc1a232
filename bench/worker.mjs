/**
 * Load-generator process (forked by run.mjs; talks over IPC). Holds raw WebSocket clients,
 * and for the message workload runs an open-loop schedule: message i of a step is due at
 * t0 + i/rate whatever happened before, and its latency is measured from that intended time
 * to the moment the receiving peer's socket gets `chat.message.created` (no coordinated
 * omission). Both ends of every pair live in this process, so one clock measures both.
 */
import { closeAll, openConn } from './lib/raw-client.mjs';
import { newHistogram, record } from './lib/histogram.mjs';

const epochNow = () => performance.timeOrigin + performance.now();

const W = Number(process.env.BENCH_WORKER_ID ?? 0);
/** idx -> conn (idx is the global user index the orchestrator assigned). */
const conns = new Map();
let pairs = [];
const steps = new Map();
let unexpectedCloses = 0;
/**
 * Resilient mode (W4/W5): like the SDK, a dropped socket reconnects with jittered backoff and
 * its last cursor, and the sender re-sends every unacknowledged message with the same clientId
 * (G2); a message due while its sender is offline waits in this outbox instead of failing.
 */
let resilient = false;
let reconnectDeadline = 0;
const reconnects = [];
/** Group fan-out steps (W3): step -> { deliveries, dup, hist }. */
const gsteps = new Map();

const ID_BASE = 100;
const STEP_SPAN = 10_000_000;
const CLIENT_PREFIX = `bench-${W}-`;

const TRACKED = '{"id":1,"result":{"type":"data","id":"';

function onFrame(s, conn) {
  if (s.startsWith('{"id":1,')) {
    // Subscription frame: remember the tracked cursor (resume point), then look at message events only.
    if (s.startsWith(TRACKED)) conn.cursor = s.slice(TRACKED.length, s.indexOf('"', TRACKED.length));
    if (s.indexOf('"chat.message.created"') === -1) return;
    if (s.indexOf('"clientId":"g-') !== -1) return onGroupFrame(s, conn);
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

/** clientId `g-<step>-<i>-<intended epoch µs>-<sender idx>`: any receiver, in any process, can compute latency. */
function onGroupFrame(s, conn) {
  const k = s.indexOf('"clientId":"g-') + 14;
  const end = s.indexOf('"', k);
  const [stepS, iS, usS, fromS] = s.slice(k, end).split('-');
  if (Number(fromS) === conn.idx) return; // the sender's own copy
  const g = gsteps.get(Number(stepS));
  if (!g) return;
  const i = Number(iS);
  // One sender per room sends i in increasing order, so a receiver must see strictly increasing i.
  const key = `${stepS}:${s.slice(s.indexOf('"conversationId":"') + 18, s.indexOf('"', s.indexOf('"conversationId":"') + 18))}`;
  const last = conn.gLast?.get(key) ?? -1;
  if (i <= last) {
    g.dup++;
    return;
  }
  (conn.gLast ??= new Map()).set(key, i);
  g.deliveries++;
  record(g.hist, epochNow() - Number(usS) / 1000);
}

function watch(conn, u) {
  conn.ws.on('close', () => {
    if (conn.closing || conns.get(u.idx) !== conn) return;
    unexpectedCloses++;
    if (resilient) void reconnect(u, conn.cursor, epochNow());
  });
}

/** Jittered exponential backoff like the SDK's (0–300 ms first, doubling, capped at 10 s). */
const backoff = (attempt) => Math.random() * Math.min(10_000, 300 * 2 ** attempt);

async function reconnect(u, cursor, downAt) {
  for (let attempt = 0; Date.now() < reconnectDeadline; attempt++) {
    await new Promise((r) => setTimeout(r, backoff(attempt)));
    const t = epochNow();
    // The backfill arrives before openConn resolves: frames must already know whose socket this is.
    const { ok, conn } = await openConn(u.wsUrl, u.token, { lastEventId: cursor, onFrame: (s, c) => onFrame(s, Object.assign(c, { idx: u.idx })) });
    conn.cursor ??= cursor;
    if (!ok) {
      if (conn.cursor) cursor = conn.cursor;
      continue;
    }
    conns.set(u.idx, conn);
    watch(conn, u);
    reconnects.push({ downAt, readyAt: epochNow(), replayMs: epochNow() - t, attempts: attempt + 1 });
    resend(u.idx);
    return;
  }
}

function frameFor(stepNo, i) {
  const pair = pairs[i % pairs.length];
  return `{"id":${stepNo * STEP_SPAN + i + ID_BASE},"method":"mutation","params":{"path":"chat.send","input":{"conversationId":"${pair.conversationId}","clientId":"${CLIENT_PREFIX}${stepNo}-${i}","text":${JSON.stringify(TEXT)}}}}`;
}
let TEXT = 'bench';

/** After a reconnect: every message this client sent (or was due to send) and never saw acknowledged. */
function resend(idx) {
  const conn = conns.get(idx);
  for (const [stepNo, st] of steps) {
    if (!st.wanted) continue;
    for (let i = 0; i < st.n; i++) {
      if (st.sender[i] !== idx || !st.wanted[i] || st.ackAt[i] !== 0) continue;
      conn.ws.send(frameFor(stepNo, i));
      if (st.sentAt[i] === 0) {
        st.sentAt[i] = performance.now();
        st.sent++;
      } else st.resent++;
    }
  }
}

/** W4: every `everyMs`, drop `fraction` of this worker's sockets abruptly (like a lost network), for `durationMs`. */
async function storm({ fraction, everyMs, durationMs }) {
  const end = Date.now() + durationMs;
  let dropped = 0;
  while (Date.now() < end) {
    const list = [...conns.values()].filter((c) => c.ws.readyState === 1);
    const k = Math.round(list.length * fraction);
    for (let j = 0; j < k; j++) {
      const c = list.splice(Math.floor(Math.random() * list.length), 1)[0];
      c.ws.terminate();
      dropped++;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return { dropped };
}

async function groupStep({ step, rooms, rate, durationMs, startAt }) {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  let sent = 0;
  let failed = 0;
  await waitUntil(startAt);
  const t0 = performance.now();
  let i = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < n && t0 + i * interval <= now) {
        const room = rooms[i % rooms.length];
        const c = conns.get(room.senderIdx);
        const us = Math.round((performance.timeOrigin + t0 + i * interval) * 1000);
        if (!c || c.ws.readyState !== 1) failed++;
        else {
          c.ws.send(`{"id":${step * STEP_SPAN + i + ID_BASE},"method":"mutation","params":{"path":"chat.send","input":{"conversationId":"${room.conversationId}","clientId":"g-${step}-${i}-${us}-${room.senderIdx}","text":"fan-out"}}}`);
          sent++;
        }
        i++;
      }
      if (i >= n) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  return { sent, failed, sendMs: performance.now() - t0 };
}

async function connect({ wsUrl, users, concurrency }) {
  const t0 = performance.now();
  const times = [];
  const failures = [];
  let next = 0;
  async function lane() {
    while (next < users.length) {
      const u = users[next++];
      u.wsUrl ??= wsUrl;
      const { ok, conn } = await openConn(u.wsUrl, u.token, { onFrame });
      conn.idx = u.idx;
      if (ok) {
        times.push(conn.readyAt - conn.t0);
        conns.set(u.idx, conn);
        watch(conn, u);
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
    sender: new Int32Array(n).fill(-1),
    wanted: resilient ? new Uint8Array(n) : null,
    resent: 0,
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
  TEXT = text;
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
        const senderIdx = dir ? pair.b : pair.a;
        const sender = conns.get(senderIdx);
        const receiver = dir ? pair.a : pair.b;
        st.intended[i] = t0 + i * interval;
        st.receiver[i] = receiver;
        st.sender[i] = senderIdx;
        if (st.wanted) st.wanted[i] = 1;
        if (!sender || sender.ws.readyState !== 1) {
          if (!st.wanted) st.sendFailed++; // resilient: waits in the outbox, sent on reconnect
        } else {
          sender.ws.send(frameFor(stepNo, i));
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
  const wantedCount = () => (st.wanted ? st.wanted.reduce((a, x) => a + x, 0) : st.sent);
  while ((st.delivered < wantedCount() || st.acked < st.sent) && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
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
    resent: st.resent,
    neverSent: st.wanted ? st.wanted.reduce((a, x) => a + x, 0) - st.sent : 0,
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
    let ackedNever = 0;
    for (let i = 0; i < st.n; i++) {
      if (st.sentAt[i] === 0) continue;
      if (st.recvAt[i] === 0) {
        never++;
        if (st.ackAt[i] !== 0) ackedNever++;
      } else if (st.recvAt[i] > st.deadline) late++;
    }
    out[k] = { late, never, ackedNever, dup: st.dup, unsent: st.wanted ? st.wanted.reduce((a, x) => a + x, 0) - st.sent : 0 };
  }
  return out;
}

/** Messages sent in earlier steps that have not reached their receiver yet (a backlog on the server). */
function pending() {
  let n = 0;
  for (const st of steps.values()) for (let i = 0; i < st.n; i++) if ((st.sentAt[i] !== 0 || st.wanted?.[i]) && st.recvAt[i] === 0) n++;
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
  configure: (m) => {
    resilient = !!m.resilient;
    reconnectDeadline = Date.now() + (m.reconnectForMs ?? 0);
    return { resilient };
  },
  storm,
  reconnects: ({ since = 0 }) => ({ list: reconnects.filter((r) => r.downAt >= since), open: [...conns.values()].filter((c) => c.ws.readyState === 1).length, total: conns.size }),
  groupBegin: ({ step }) => (gsteps.set(step, { deliveries: 0, dup: 0, hist: newHistogram() }), { ok: true }),
  groupStep,
  groupResult: ({ step }) => gsteps.get(step),
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
