/**
 * Load-generator process for the baselines (forked by compare.mjs; same IPC commands and step
 * result shape as bench/worker.mjs, which drives Sohbet). It speaks socket.io-client (baseline b)
 * or HTTP POST + 1.5 s polling (baseline a), and runs the same open-loop schedule: message i of a
 * step is due at t0 + i/rate whatever happened before, sent by pair i mod P alternating direction,
 * and its latency runs from that intended time to the moment the receiving peer gets it.
 */
import http from 'node:http';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const W = Number(process.env.BENCH_WORKER_ID ?? 0);
const CLIENT_PREFIX = `cmp-${W}-`;
const PAGE = 200; // the polling server's page size: a full page means "poll again now"
const conns = new Map(); // idx -> conn
let pairs = [];
const steps = new Map();
let unexpectedCloses = 0;
let transport = null;
let stopping = false;

/** A message reached `conn`: check it off at its receiver (dup/echo accounting like worker.mjs). */
function received(conn, clientId) {
  if (!clientId.startsWith(CLIENT_PREFIX)) return;
  const dash = clientId.indexOf('-', CLIENT_PREFIX.length);
  const st = steps.get(Number(clientId.slice(CLIENT_PREFIX.length, dash)));
  if (!st) return;
  const i = Number(clientId.slice(dash + 1));
  if (conn.idx !== st.receiver[i]) return void st.echoes++;
  if (st.recvAt[i] !== 0) st.dup++;
  else {
    st.recvAt[i] = performance.now();
    st.delivered++;
  }
}

function acked(stepNo, i, error) {
  const st = steps.get(stepNo);
  if (!st || st.ackAt[i] !== 0) return;
  st.ackAt[i] = performance.now();
  st.acked++;
  if (error) {
    st.ackErr[i] = 1;
    st.ackErrors++;
    if (st.errorSamples.length < 3) st.errorSamples.push(String(error).slice(0, 300));
  }
}

// ---------------------------------------------------------------- socket.io transport (baseline b)
const socketio = {
  open(url, u) {
    return new Promise((resolve) => {
      const conn = { idx: u.idx, t0: performance.now(), readyAt: 0 };
      const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { userId: u.userId }, timeout: 30_000 });
      conn.socket = socket;
      const timer = setTimeout(() => (socket.close(), resolve({ ok: false, conn, error: 'timeout' })), 30_000);
      socket.once('ready', () => {
        clearTimeout(timer);
        conn.readyAt = performance.now();
        resolve({ ok: true, conn });
      });
      socket.once('connect_error', (e) => (clearTimeout(timer), resolve({ ok: false, conn, error: e.message })));
      socket.on('newMessage', (row) => received(conn, row.client_id));
      socket.on('disconnect', () => {
        if (!conn.closing) unexpectedCloses++;
      });
    });
  },
  isOpen: (c) => c.socket.connected,
  send(c, conversationId, clientId, text, stepNo, i) {
    c.socket.emit('sendMessage', { conversationId, clientId, text }, (res) => acked(stepNo, i, res?.error));
  },
  async close(list) {
    for (const c of list) c.socket.close();
  },
};

// ---------------------------------------------------------------- raw socket.io frames (baseline b, cheap generator)
/**
 * The same socket.io conversation without socket.io-client's per-packet decoding, so the generator
 * costs about what bench/worker.mjs's raw tRPC client costs (on 2 shared cores that matters).
 * Engine.IO v4 over WebSocket, one packet per frame (checked against engine.io-parser and
 * socket.io-parser 4.x): server `0{...open}`, client `40{auth}` (CONNECT), server `40{"sid"}`;
 * server ping `2` -> client `3`; emit with ack `42<id>["sendMessage",{...}]`, ack `43<id>[{...}]`;
 * events `42["newMessage",{...}]`; a refused connect `44{"message"}`.
 */
const ACK_SPAN = 10_000_000;
const socketioRaw = {
  open(url, u) {
    return new Promise((resolve) => {
      const conn = { idx: u.idx, t0: performance.now(), readyAt: 0 };
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
      conn.ws = ws;
      let settled = false;
      const done = (ok, error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ok, conn, error });
      };
      const timer = setTimeout(() => (ws.terminate(), done(false, 'timeout')), 30_000);
      ws.on('message', (data) => {
        const s = data.toString();
        if (s === '2') return ws.send('3');
        if (s.startsWith('0{')) return ws.send(`40${JSON.stringify({ userId: u.userId })}`);
        if (s.startsWith('42["newMessage"')) {
          const k = s.indexOf('"client_id":"');
          if (k !== -1) received(conn, s.slice(k + 13, s.indexOf('"', k + 13)));
          return;
        }
        if (s.startsWith('43')) {
          const id = Number(s.slice(2, s.indexOf('[')));
          const err = s.indexOf('"error":');
          return acked(Math.floor(id / ACK_SPAN), id % ACK_SPAN, err === -1 ? null : s.slice(err, err + 100));
        }
        if (s === '42["ready"]') {
          conn.readyAt = performance.now();
          return done(true);
        }
        if (s.startsWith('44')) return done(false, s);
      });
      ws.on('error', (e) => done(false, e.message));
      ws.on('close', () => {
        if (!settled) return done(false, 'closed');
        if (!conn.closing) unexpectedCloses++;
      });
    });
  },
  isOpen: (c) => c.ws.readyState === 1,
  send(c, conversationId, clientId, text, stepNo, i) {
    c.ws.send(`42${stepNo * ACK_SPAN + i}${JSON.stringify(['sendMessage', { conversationId, clientId, text }])}`);
  },
  async close(list) {
    for (const c of list) c.ws.close();
  },
};

// ---------------------------------------------------------------- HTTP polling transport (baseline a)
const agent = new http.Agent({ keepAlive: true, maxSockets: 2000 });
function request(base, method, pathAndQuery, userId, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request(
      `${base}${pathAndQuery}`,
      { method, agent, headers: { 'x-user-id': userId, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

const polling = {
  pollMs: 1500,
  /** compare.mjs pauses polling while it measures the other systems (so they do not carry this load). */
  paused: false,
  async open(url, u) {
    const conn = { idx: u.idx, userId: u.userId, url, convs: u.convs, after: new Map(), t0: performance.now(), readyAt: 0, inFlight: false, polls: 0, pollErrors: 0 };
    // First load: the current tail of each conversation (what the app shows on open).
    try {
      for (const c of conn.convs) {
        const r = await request(url, 'GET', `/messages?conversationId=${encodeURIComponent(c)}&after=0`, u.userId);
        if (r.status !== 200) return { ok: false, conn, error: `GET ${r.status} ${r.text.slice(0, 100)}` };
        const rows = JSON.parse(r.text);
        conn.after.set(c, rows.length ? rows[rows.length - 1].seq : '0');
      }
    } catch (e) {
      return { ok: false, conn, error: e.message };
    }
    conn.readyAt = performance.now();
    // refetchInterval: a fixed 1.5 s cadence per client, random phase, a poll skipped while one is in flight.
    const phase = Math.random() * polling.pollMs;
    let next = performance.now() + phase;
    const tick = async () => {
      if (conn.closing || stopping) return;
      next += polling.pollMs;
      if (!conn.inFlight && !polling.paused) await polling.poll(conn).catch(() => conn.pollErrors++);
      if (conn.closing || stopping) return;
      conn.timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    conn.timer = setTimeout(tick, phase);
    return { ok: true, conn };
  },
  async poll(conn) {
    conn.inFlight = true;
    try {
      for (const c of conn.convs) {
        for (let page = 0; page < 50; page++) {
          const r = await request(conn.url, 'GET', `/messages?conversationId=${encodeURIComponent(c)}&after=${conn.after.get(c)}`, conn.userId);
          conn.polls++;
          if (r.status !== 200) {
            conn.pollErrors++;
            break;
          }
          const rows = JSON.parse(r.text);
          for (const row of rows) received(conn, row.client_id);
          if (rows.length) conn.after.set(c, rows[rows.length - 1].seq);
          if (rows.length < PAGE) break;
        }
      }
    } finally {
      conn.inFlight = false;
    }
  },
  isOpen: (c) => !c.closing,
  send(c, conversationId, clientId, text, stepNo, i) {
    request(c.url, 'POST', '/messages', c.userId, { conversationId, clientId, text }).then(
      (r) => acked(stepNo, i, r.status === 201 ? null : `HTTP ${r.status} ${r.text.slice(0, 200)}`),
      (e) => acked(stepNo, i, e.message),
    );
  },
  async close(list) {
    for (const c of list) clearTimeout(c.timer);
  },
};

// ---------------------------------------------------------------- commands
async function connect({ url, kind, users, concurrency, pollMs }) {
  transport = { socketio, 'socketio-raw': socketioRaw, polling }[kind];
  if (pollMs) polling.pollMs = pollMs;
  const t0 = performance.now();
  const times = [];
  const failures = [];
  let failed = 0;
  let next = 0;
  async function lane() {
    while (next < users.length) {
      const u = users[next++];
      const { ok, conn, error } = await transport.open(url, u);
      if (ok) {
        times.push(conn.readyAt - conn.t0);
        conns.set(u.idx, conn);
      } else {
        failed++;
        if (failures.length < 5) failures.push({ idx: u.idx, error });
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, users.length) }, lane));
  return { connected: times.length, failed, failures, ms: performance.now() - t0, times: times.map((t) => Math.round(t * 100) / 100) };
}

async function close({ idxs }) {
  const list = (idxs ?? [...conns.keys()]).map((i) => conns.get(i)).filter(Boolean);
  for (const c of list) c.closing = true;
  if (transport) await transport.close(list);
  for (const c of list) conns.delete(c.idx);
  return { closed: list.length, remaining: conns.size };
}

async function runStep({ step: stepNo, rate, durationMs, startAt, drainMs, maxBehindMs, text }) {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const P = pairs.length;
  const st = {
    n, intended: new Float64Array(n), sentAt: new Float64Array(n), ackAt: new Float64Array(n), ackErr: new Uint8Array(n), recvAt: new Float64Array(n), receiver: new Int32Array(n).fill(-1),
    sent: 0, acked: 0, delivered: 0, dup: 0, echoes: 0, ackErrors: 0, errorSamples: [], sendFailed: 0, aborted: 0,
  };
  steps.set(stepNo, st);
  const closesBefore = unexpectedCloses;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
  const t0 = performance.now();
  let i = 0;
  let oldest = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (oldest < i && st.ackAt[oldest] !== 0) oldest++;
      if (oldest < i && now - st.intended[oldest] > maxBehindMs) {
        st.aborted = n - i; // the server is this far behind: stop offering load (bounded overload)
        return resolve();
      }
      while (i < n && t0 + i * interval <= now) {
        const pair = pairs[i % P];
        const dir = Math.floor(i / P) & 1;
        const sender = conns.get(dir ? pair.b : pair.a);
        st.intended[i] = t0 + i * interval;
        st.receiver[i] = dir ? pair.a : pair.b;
        if (!sender || !transport.isOpen(sender)) st.sendFailed++;
        else {
          transport.send(sender, pair.conversationId, `${CLIENT_PREFIX}${stepNo}-${i}`, text, stepNo, i);
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
    worker: W, n, sent: st.sent, acked: st.acked, delivered: st.delivered, dup: st.dup, echoes: st.echoes, ackErrors: st.ackErrors, errorSamples: st.errorSamples,
    sendFailed: st.sendFailed, aborted: st.aborted, undeliveredAtDeadline: st.sent - st.delivered, sendMs: sendEnd - t0, spanMs: lastRecv - t0, drainMs: end - sendEnd,
    lat, ackLat, sendLagP99: sendLag.length ? sendLag[Math.floor(sendLag.length * 0.99)] : 0, sendLagMax: sendLag.length ? sendLag[sendLag.length - 1] : 0,
    unexpectedCloses: unexpectedCloses - closesBefore, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: (end - t0) / 1000,
  };
}

function finalCheck() {
  const out = {};
  for (const [k, st] of steps) {
    let late = 0;
    let never = 0;
    // Why a message never arrived: stored and acknowledged (really lost), the send failed (the client knows), or no answer yet.
    const why = { afterAck: 0, sendError: 0, unacked: 0 };
    for (let i = 0; i < st.n; i++) {
      if (st.sentAt[i] === 0) continue;
      if (st.recvAt[i] === 0) {
        never++;
        if (st.ackAt[i] === 0) why.unacked++;
        else if (st.ackErr[i]) why.sendError++;
        else why.afterAck++;
      } else if (st.recvAt[i] > st.deadline) late++;
    }
    out[k] = { late, never, dup: st.dup, why, ackErrors: st.ackErrors };
  }
  return out;
}

function pending() {
  let n = 0;
  for (const st of steps.values()) for (let i = 0; i < st.n; i++) if (st.sentAt[i] !== 0 && st.recvAt[i] === 0) n++;
  return { pending: n };
}

const handlers = {
  pending,
  connect,
  close,
  pairs: (m) => ((pairs = m.pairs), { pairs: pairs.length }),
  pause: () => ((polling.paused = true), { paused: true }),
  resume: () => ((polling.paused = false), { paused: false }),
  step: runStep,
  finalCheck,
  stats: () => {
    let polls = 0;
    let pollErrors = 0;
    for (const c of conns.values()) (polls += c.polls ?? 0), (pollErrors += c.pollErrors ?? 0);
    return { conns: conns.size, rss: process.memoryUsage().rss, unexpectedCloses, polls, pollErrors };
  },
  exit: async () => {
    stopping = true;
    await close({});
    agent.destroy();
    setTimeout(() => process.exit(0), 50);
    return { bye: true };
  },
};

process.on('message', async (m) => {
  try {
    process.send({ reqId: m.reqId, ok: true, result: await handlers[m.cmd](m) });
  } catch (err) {
    process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
