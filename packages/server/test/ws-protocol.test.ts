/**
 * The WebSocket protocol as a client sees it, frame by frame (the server serves tRPC's protocol
 * with its own lean adapter, realtime/ws-adapter.ts; @trpc/client's wsLink and the SDK speak it).
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

interface Raw {
  ws: WebSocket;
  frames: unknown[];
  next(pred: (f: any) => boolean, ms?: number): Promise<any>;
  send(x: unknown): void;
}

async function open(token: string | null, opts: { params?: unknown } = {}): Promise<Raw> {
  const ws = new WebSocket(`${s.wsUrl}?connectionParams=1`);
  const frames: unknown[] = [];
  const waiters: Array<{ pred: (f: any) => boolean; resolve: (f: unknown) => void }> = [];
  ws.on('message', (d) => {
    const text = d.toString();
    const f = text === 'PONG' || text === 'PING' ? text : JSON.parse(text);
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(f));
  });
  await once(ws, 'open');
  ws.send(JSON.stringify(opts.params ?? { method: 'connectionParams', data: { token, v: '1' } }));
  return {
    ws,
    frames,
    send: (x) => ws.send(typeof x === 'string' ? x : JSON.stringify(x)),
    next: (pred, ms = 5000) =>
      new Promise((resolve, reject) => {
        const hit = frames.find(pred);
        if (hit !== undefined) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(frames).slice(0, 500)}`)), ms);
        waiters.push({ pred, resolve: (f) => (clearTimeout(t), resolve(f)) });
      }),
  };
}

const sub = (id: number, lastEventId?: string) => ({ id, method: 'subscription', params: { path: 'sync.events', input: undefined, ...(lastEventId ? { lastEventId } : {}) } });

describe('WebSocket protocol (tRPC wsLink compatible)', () => {
  it('answers a query, a subscription (started → tracked events → stopped on stop) and PING', async () => {
    const c = await open(await s.token('wp-a'));
    c.send({ id: 1, method: 'query', params: { path: 'users.me', input: undefined } });
    const me = await c.next((f) => f.id === 1);
    expect(me.result).toMatchObject({ type: 'data', data: { id: 'wp-a' } });
    c.send(sub(2));
    await c.next((f) => f.id === 2 && f.result?.type === 'started');
    const ready = await c.next((f) => f.id === 2 && f.result?.data?.data?.type === 'sync.ready');
    // A tracked event carries its cursor twice: for the client's lastEventId and in the payload.
    expect(ready.result.id).toBe(ready.result.data.id);
    c.send('PING');
    await c.next((f) => f === 'PONG');
    c.send({ id: 2, method: 'subscription.stop' });
    await c.next((f) => f.id === 2 && f.result?.type === 'stopped');
    c.ws.close();
  });

  it('resumes a subscription from lastEventId: missed events arrive once, in order (G3)', async () => {
    const a = await open(await s.token('wp-b'));
    a.send(sub(1));
    const ready = await a.next((f) => f.result?.data?.data?.type === 'sync.ready');
    const cursor = ready.result.id as string;
    a.ws.close();
    await s.token('wp-c'); // the peer exists, as the host backend would have made sure
    const conv = await s.app.services.conversations.openDirect('wp-c', { userId: 'wp-b' });
    for (let i = 0; i < 3; i++) await s.app.services.messages.send('wp-c', { conversationId: conv.id, clientId: `wp-${i}-${Date.now()}`, text: `missed ${i}` });
    const b = await open(await s.token('wp-b'));
    b.send(sub(7, cursor));
    await b.next((f) => f.result?.data?.data?.type === 'sync.ready');
    const texts = b.frames.flatMap((f: any) => (f.result?.data?.data?.type === 'chat.message.created' ? [f.result.data.data.data.message.text] : []));
    expect(texts).toEqual(['missed 0', 'missed 1', 'missed 2']);
    b.ws.close();
  });

  it('answers a batch frame call by call, and a bad call in a batch does not fail the others', async () => {
    const c = await open(await s.token('wp-d'));
    c.send([
      { id: 1, method: 'query', params: { path: 'users.me', input: undefined } },
      { id: 2, method: 'query', params: { path: 'no.such.procedure', input: undefined } },
      { id: 3, method: 'bogus', params: { path: 'users.me' } },
    ]);
    expect((await c.next((f) => f.id === 1)).result.data.id).toBe('wp-d');
    expect((await c.next((f) => f.id === 2)).error.data.appCode).toBe('input.invalid');
    expect((await c.next((f) => f.id === 3)).error.data.code).toBe('PARSE_ERROR');
    c.ws.close();
  });

  it('refuses a batch of more than 1,000 calls as a whole, answering each call, without running any', async () => {
    const c = await open(await s.token('wp-g'));
    c.send(Array.from({ length: 1001 }, (_, i) => ({ id: i + 1, method: 'mutation', params: { path: 'chat.openDirect', input: { userId: 'wp-g-peer' } } })));
    const last = await c.next((f) => f.id === 1001);
    expect(last.error.data.code).toBe('PAYLOAD_TOO_LARGE');
    await c.next((f) => f.id === 1 && f.error?.data?.code === 'PAYLOAD_TOO_LARGE');
    c.send({ id: 2000, method: 'query', params: { path: 'chat.list', input: {} } });
    const list = await c.next((f) => f.id === 2000);
    expect(list.error).toBeUndefined(); // the socket still serves, and nothing of the batch ran:
    expect(JSON.stringify(list.result.data)).not.toContain('wp-g-peer');
    c.ws.close();
  });

  it('runs a batch of 120 mutations sent in one frame (wsLink batches what is sent in one tick)', async () => {
    const c = await open(await s.token('wp-h'));
    await s.token('wp-h-peer');
    c.send({ id: 1, method: 'mutation', params: { path: 'chat.openDirect', input: { userId: 'wp-h-peer' } } });
    const conv = (await c.next((f) => f.id === 1)).result.data.id;
    c.send(Array.from({ length: 120 }, (_, i) => ({ id: i + 10, method: 'mutation', params: { path: 'chat.send', input: { conversationId: conv, clientId: `wp-h-${i}-xxxxxxxx`, text: `b${i}` } } })));
    await c.next((f) => f.id === 129, 20_000);
    const seqs = c.frames.filter((f: any) => f.id >= 10 && f.id < 130).map((f: any) => f.result.data.seq).sort((a: number, b: number) => a - b);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    c.ws.close();
  });

  it('answers invalid JSON, binary frames and a duplicate subscription id with typed errors and keeps the socket', async () => {
    const c = await open(await s.token('wp-e'));
    c.send(sub(5));
    await c.next((f) => f.id === 5 && f.result?.type === 'started');
    c.send('{not json');
    expect((await c.next((f) => f.id === null && f.error)).error.data.code).toBe('PARSE_ERROR');
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.next((f) => f.id === null && f.error?.data?.code === 'UNPROCESSABLE_CONTENT');
    c.send(sub(5));
    expect((await c.next((f) => f.id === 5 && f.error)).error.data.code).toBe('BAD_REQUEST');
    c.send({ id: 9, method: 'query', params: { path: 'users.me', input: undefined } });
    expect((await c.next((f) => f.id === 9)).result.data.id).toBe('wp-e');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  it('refuses more than 100 subscriptions on one socket', async () => {
    const c = await open(await s.token('wp-f'));
    for (let i = 1; i <= 101; i++) c.send(sub(i));
    expect((await c.next((f) => f.id === 101 && f.error)).error.data.code).toBe('TOO_MANY_REQUESTS');
    await c.next((f) => f.id === 100 && f.result?.type === 'started');
    c.ws.close();
  });

  it('closes a socket whose connection params are malformed, after saying why', async () => {
    const c = await open(null, { params: { method: 'connectionParams', data: 42 } });
    const err = await c.next((f) => f.id === null && f.error);
    expect(err.error.data.code).toBe('PARSE_ERROR');
    const [code] = (await once(c.ws, 'close')) as [number];
    expect(code).toBeGreaterThanOrEqual(1000);
  });

  it('closes with 4401 when the token is missing', async () => {
    const c = await open(null, { params: { method: 'connectionParams', data: {} } });
    const [code, reason] = (await once(c.ws, 'close')) as [number, Buffer];
    expect(code).toBe(4401);
    expect(reason.toString()).toMatch(/^auth\./);
  });
});
