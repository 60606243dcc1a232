import type { StreamEvent } from '@sohbet/protocol';

/**
 * tRPC WebSocket encoder that serializes each event payload once per fan-out: every recipient's
 * frame differs only in its subscription id and cursor, so the payload string is cached (by
 * object identity) and spliced into each frame. Anything that is not a stream event frame is
 * plain JSON.stringify, exactly as tRPC's default encoder.
 */
const payloads = new WeakMap<object, string>();

/**
 * The JSON of an event payload, computed once per payload object: the event log's insert and
 * every recipient's frame reuse the same string.
 */
export function payloadJson(data: object): string {
  let s = payloads.get(data);
  if (s === undefined) {
    s = JSON.stringify(data);
    payloads.set(data, s);
  }
  return s;
}

function isStreamEvent(x: unknown): x is StreamEvent {
  return !!x && typeof x === 'object' && typeof (x as StreamEvent).type === 'string' && !!(x as StreamEvent).data && typeof (x as StreamEvent).data === 'object';
}

function eventJson(ev: StreamEvent): string {
  const cursor = ev.cursor !== undefined ? `,"cursor":${JSON.stringify(ev.cursor)}` : '';
  return `{"type":${JSON.stringify(ev.type)}${cursor},"data":${payloadJson(ev.data)}}`;
}

const onlyKeys = (o: object, allowed: string[]) => Object.keys(o).every((k) => allowed.includes(k));

export const streamFrameEncoder = {
  encode(msg: unknown): string {
    const m = msg as { id?: unknown; jsonrpc?: unknown; result?: { type?: unknown; id?: unknown; data?: unknown } };
    const r = m?.result;
    if (r && r.type === 'data' && onlyKeys(m, ['id', 'jsonrpc', 'result']) && onlyKeys(r, ['type', 'id', 'data'])) {
      const tracked = r.id !== undefined;
      const inner = tracked ? (r.data as { id?: unknown; data?: unknown } | undefined) : undefined;
      const ev = tracked ? inner?.data : r.data;
      if (isStreamEvent(ev) && (!tracked || (inner && onlyKeys(inner, ['id', 'data'])))) {
        const rid = tracked ? `,"id":${JSON.stringify(r.id)}` : '';
        const data = tracked ? `{"id":${JSON.stringify(inner!.id)},"data":${eventJson(ev)}}` : eventJson(ev);
        const jsonrpc = m.jsonrpc !== undefined ? `,"jsonrpc":${JSON.stringify(m.jsonrpc)}` : '';
        return `{"id":${JSON.stringify(m.id)}${jsonrpc},"result":{"type":"data"${rid},"data":${data}}}`;
      }
    }
    return JSON.stringify(msg);
  },
  decode(data: string | ArrayBuffer | Buffer): unknown {
    if (typeof data !== 'string') throw new Error('Sohbet uses text frames');
    return JSON.parse(data);
  },
};
