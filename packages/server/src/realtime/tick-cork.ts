import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames written to one socket within one event-loop turn leave in one write: a send's
 * acknowledgement and the sender's own copy of the event, or a burst of events, cost one
 * syscall instead of one each (writev per frame was the server's top CPU cost under load).
 * Sockets are corked on their first frame of the turn and all uncorked together right after it.
 */
const corked = new Set<Socket>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
}

export function corkPerTick(ws: WebSocket): void {
  const raw = (ws as unknown as { _socket?: Socket })._socket;
  if (!raw || typeof raw.cork !== 'function') return;
  const send = ws.send.bind(ws) as (...args: unknown[]) => void;
  (ws as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    if (!corked.has(raw) && !raw.destroyed) {
      raw.cork();
      corked.add(raw);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
    send(...args);
  };
}
