/**
 * A raw tRPC-over-WebSocket client: the frames @trpc/client's wsLink sends, without its
 * per-request observables, so the load generator costs little CPU per message.
 *
 * Wire format (tRPC v11, JSON encoder, no transformer), checked against
 * @trpc/server/dist/ws-*.mjs and @trpc/client's wsLink:
 *   URL `?connectionParams=1`, then the first frame is {"method":"connectionParams","data":{...}}
 *   subscribe:  {"id":1,"method":"subscription","params":{"path":"sync.events","input":{"lastEventId":"42"}}}
 *   mutation:   {"id":N,"method":"mutation","params":{"path":"chat.send","input":{...}}}
 *   replies:    {"id":N,"result":{"type":"started"|"data"|"stopped", "id"?: "<tracked id>", "data": ...}} or {"id":N,"error":{...}}
 *   a tracked() event arrives as result {"type":"data","id":"42","data":{"id":"42","data":<event>}}
 *   keep-alive: the server sends the text "PING" after 25 s of client silence and wants "PONG".
 */
import WebSocket from 'ws';

export const SUB_ID = 1;

export function connectFrame(token) {
  return JSON.stringify({ method: 'connectionParams', data: { token, v: '1' } });
}

export function subscribeFrame(lastEventId) {
  return JSON.stringify({ id: SUB_ID, method: 'subscription', params: { path: 'sync.events', input: lastEventId ? { lastEventId } : {} } });
}

/**
 * Opens a socket, authenticates, subscribes to sync.events, and resolves on sync.ready.
 * `onFrame(text, conn)` sees every other frame (already PING-filtered).
 */
export function openConn(wsUrl, token, { lastEventId, onFrame, timeoutMs = 30_000, localAddress } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const conn = { ws: null, ready: false, readyAt: 0, openAt: 0, t0, closed: null, cursor: lastEventId ?? null, error: null };
    const ws = new WebSocket(`${wsUrl}?connectionParams=1`, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    conn.ws = ws;
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ok, conn });
    };
    const timer = setTimeout(() => {
      conn.error = 'timeout';
      ws.terminate();
      done(false);
    }, timeoutMs);
    ws.on('open', () => {
      conn.openAt = performance.now();
      ws.send(connectFrame(token));
      ws.send(subscribeFrame(lastEventId));
    });
    ws.on('message', (data, isBinary) => {
      const s = isBinary ? '' : data.toString();
      if (s === 'PING') return ws.send('PONG');
      if (!conn.ready && s.startsWith('{"id":1,') && s.includes('"type":"sync.ready"')) {
        conn.ready = true;
        conn.readyAt = performance.now();
        onFrame?.(s, conn);
        return done(true);
      }
      if (!conn.ready && (s.startsWith('{"id":null') || s.startsWith('{"id":1,"error"'))) conn.error = s.slice(0, 300);
      onFrame?.(s, conn);
    });
    ws.on('error', (e) => {
      conn.error ??= e.message;
    });
    ws.on('close', (code, reason) => {
      conn.closed = { code, reason: reason.toString() };
      done(false);
    });
  });
}

/** The tracked event id of a subscription data frame, if any. */
export function trackedId(s) {
  const m = /^\{"id":1,"result":\{"type":"data","id":"(\d+)"/.exec(s);
  return m ? m[1] : null;
}

/** Closes sockets and waits (bounded) for their close events. */
export async function closeAll(conns, timeoutMs = 10_000) {
  const waits = [];
  for (const c of conns) {
    const ws = c.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) continue;
    waits.push(new Promise((r) => ws.once('close', r)));
    ws.close(1000, 'bench done');
  }
  let timer;
  await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  for (const c of conns) if (c.ws && c.ws.readyState !== WebSocket.CLOSED) c.ws.terminate();
}
