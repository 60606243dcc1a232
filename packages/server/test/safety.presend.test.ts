import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows, sql } from '../src/db/db.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, startTestServer, type TestServer } from './harness.ts';

const SECRET = 'presend-secret-0123456789abcdef';
let n = 0;
const cid = () => `ps-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;

interface HookCall {
  body: { type: string; data: { senderId: string; conversationId: string; clientId: string | null; message: { type: string; text: string | null; seq?: number } } };
  signed: boolean;
}
type Behaviour = (call: HookCall, res: ServerResponse) => void;

/**
 * The host backend's pre-send endpoint, as the README shows it: checks the signature, then
 * redacts phone numbers, rejects payment links and allows the rest. Tests swap the behaviour.
 */
const PHONE = /(?:\+?994|0)[\s-]?\(?\d{2}\)?(?:[\s-]?\d){7}/g;
const hostPolicy: Behaviour = ({ body }, res) => {
  const text = body.data.message.text ?? '';
  if (/pay\.example|wa\.me\//i.test(text)) return json(res, { action: 'reject', reason: 'off_platform_payment' });
  if (new RegExp(PHONE.source).test(text)) return json(res, { action: 'redact', text: text.replace(PHONE, '[phone number hidden]') });
  return json(res, { action: 'allow' });
};

function json(res: ServerResponse, v: unknown, status = 200) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
}

function verify(req: IncomingMessage, raw: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['sohbet-signature'] ?? ''));
  if (!m) return false;
  const expected = createHmac('sha256', SECRET).update(`${m[1]}.${raw}`).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
  return fresh && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe.each(dbKinds)('pre-send hook on %s', (kind) => {
  let hook: Server;
  let hookUrl: string;
  let behaviour: Behaviour = hostPolicy;
  const calls: HookCall[] = [];
  const servers: TestServer[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const call = { body: JSON.parse(raw), signed: verify(req, raw) };
        calls.push(call);
        behaviour(call, res);
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/sohbet/presend`;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    hook.closeAllConnections();
    await new Promise((r) => hook.close(r));
  });
  beforeEach(() => {
    behaviour = hostPolicy;
    calls.length = 0;
  });

  async function boot(failure: 'open' | 'closed', timeoutMs = 300) {
    const s = await startTestServer({ db: kind, env: { PRESEND_HOOK_URL: hookUrl, PRESEND_HOOK_SECRET: SECRET, PRESEND_HOOK_TIMEOUT_MS: String(timeoutMs), PRESEND_HOOK_FAILURE: failure } });
    servers.push(s);
    const buyer = await callerFor(s.app.services, 'buyer');
    const seller = await callerFor(s.app.services, 'seller');
    const conv = await buyer.chat.openDirect({ userId: 'seller' });
    const stored = async () => rows<{ text: string | null; redacted: boolean }>(s.app.services.database.db, sql`select text, redacted from messages where conversation_id = ${conv.id} order by seq`);
    return { s, buyer, seller, conv, stored };
  }

  let open: Awaited<ReturnType<typeof boot>>;
  let closed: Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    open = await boot('open');
    closed = await boot('closed');
  }, 180_000); // two servers; PGlite migrates in WASM, slow on a loaded machine

  it('sends each new message, signed like the webhooks, and stores an allowed one unchanged', async () => {
    const m = await open.buyer.chat.send({ conversationId: open.conv.id, clientId: cid(), text: 'Salam, hələ satılır?' });
    expect(m.text).toBe('Salam, hələ satılır?');
    expect(m.redacted).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signed).toBe(true);
    expect(calls[0]!.body).toMatchObject({ type: 'message.presend', data: { senderId: 'buyer', conversationId: open.conv.id, clientId: m.clientId, message: { type: 'text', text: 'Salam, hələ satılır?' } } });
  });

  it('reject: chat.rejected with the host’s reason, nothing stored, nobody notified', async () => {
    const before = (await open.stored()).length;
    const head = (await open.s.app.services.stream.since('seller', '0', 1000)).cursor;
    const err = await open.seller.chat.send({ conversationId: open.conv.id, clientId: cid(), text: 'Pay here: https://pay.example/123' }).catch((e) => e);
    expect(await codeOf(Promise.reject(err))).toBe('chat.rejected');
    expect(err.cause.details).toEqual({ reason: 'off_platform_payment' });
    expect(err.message).toBe('off_platform_payment');
    expect((await open.stored()).length).toBe(before);
    expect((await open.s.app.services.stream.since('buyer', head, 1000)).events.filter((e) => e.type === 'chat.message.created')).toHaveLength(0);
  });

  it('redact: the stored and delivered text is the host’s, marked redacted (a phone number example)', async () => {
    const m = await open.seller.chat.send({ conversationId: open.conv.id, clientId: cid(), text: 'Zəng edin: +994 50 123 45 67' });
    expect(m).toMatchObject({ text: 'Zəng edin: [phone number hidden]', redacted: true });
    const [row] = (await open.stored()).slice(-1);
    expect(row).toEqual({ text: 'Zəng edin: [phone number hidden]', redacted: true });
    // The buyer's copy (event and history) never had the number.
    const ev = (await open.s.app.services.stream.since('buyer', '0', 1000)).events.find((e) => e.type === 'chat.message.created' && e.data.message.id === m.id);
    expect(ev && ev.type === 'chat.message.created' && ev.data.message).toMatchObject({ text: 'Zəng edin: [phone number hidden]', redacted: true });
    expect((await open.buyer.chat.history({ conversationId: open.conv.id })).messages.find((x) => x.id === m.id)).toMatchObject({ redacted: true });
  });

  it('G2: a retry of a stored message returns it without calling the hook again', async () => {
    const clientId = cid();
    const first = await open.seller.chat.send({ conversationId: open.conv.id, clientId, text: 'Nömrəm 050 123 45 67' });
    expect(calls).toHaveLength(1);
    behaviour = (_c, res) => json(res, { action: 'reject', reason: 'would refuse now' });
    const again = await open.seller.chat.send({ conversationId: open.conv.id, clientId, text: 'Nömrəm 050 123 45 67' });
    expect(again).toMatchObject({ id: first.id, text: first.text, redacted: true });
    expect(calls).toHaveLength(1);
  });

  it('a support question is screened like a message: refused, it opens no chat; redacted, the chat starts with the host’s text', async () => {
    const support = await callerFor(open.s.app.services, 'presend-customer');
    const err = await support.support.start({ topic: 'billing', clientId: cid(), text: 'Pay here: https://pay.example/9' }).catch((e) => e);
    expect(await codeOf(Promise.reject(err))).toBe('chat.rejected');
    expect(await support.support.mine()).toHaveLength(0);
    const chat = await support.support.start({ topic: 'billing', clientId: cid(), text: 'Zəng edin: +994 50 123 45 67' });
    const { messages } = await support.chat.history({ conversationId: chat.conversationId });
    expect(messages.map((m) => [m.text, m.redacted])).toEqual([['Zəng edin: [phone number hidden]', true]]);
  });

  it('edits are screened too (else "hi" could become a phone number after the check)', async () => {
    const m = await open.seller.chat.send({ conversationId: open.conv.id, clientId: cid(), text: 'hi' });
    const edited = await open.seller.chat.edit({ conversationId: open.conv.id, seq: m.seq, text: 'call +994501234567' });
    expect(edited).toMatchObject({ text: 'call [phone number hidden]', redacted: true });
    expect(calls[1]!.body.data.message).toEqual({ type: 'edit', text: 'call +994501234567', seq: m.seq });
    expect(await codeOf(open.seller.chat.edit({ conversationId: open.conv.id, seq: m.seq, text: 'wa.me/994501234567' }))).toBe('chat.rejected');
    expect((await open.stored()).find((r) => r.text?.startsWith('call'))).toBeDefined();
  });

  const failures: Array<[string, Behaviour]> = [
    ['times out', () => {}], // never answers: the server gives up after PRESEND_HOOK_TIMEOUT_MS
    ['answers 503', (_c, res) => json(res, { error: 'down' }, 503)],
    ['answers something that is not a verdict', (_c, res) => json(res, { action: 'maybe' })],
  ];
  for (const [what, b] of failures) {
    it(`when the hook ${what}: open lets the message through, closed refuses it with chat.hook_unavailable`, async () => {
      behaviour = b;
      const t0 = Date.now();
      const passed = await open.buyer.chat.send({ conversationId: open.conv.id, clientId: cid(), text: `through (${what})` });
      expect(passed.text).toBe(`through (${what})`);
      const before = (await closed.stored()).length;
      expect(await codeOf(closed.buyer.chat.send({ conversationId: closed.conv.id, clientId: cid(), text: `held (${what})` }))).toBe('chat.hook_unavailable');
      expect((await closed.stored()).length).toBe(before);
      expect(Date.now() - t0).toBeLessThan(5000);
      // Once the hook answers again, the same message goes through.
      behaviour = hostPolicy;
      expect((await closed.buyer.chat.send({ conversationId: closed.conv.id, clientId: cid(), text: `held (${what})` })).text).toBe(`held (${what})`);
    });
  }

  it('captions, listing cards and forwards are screened with their type', async () => {
    const listing = { type: 'listing' as const, id: 'l-1', title: 'Divan' };
    await open.buyer.chat.send({ conversationId: open.conv.id, clientId: cid(), payload: listing, text: 'bu?' });
    const src = await open.buyer.chat.send({ conversationId: open.conv.id, clientId: cid(), text: 'forward me' });
    const other = await open.buyer.chat.openDirect({ userId: 'seller', context: { ...listing, id: 'l-2' } });
    await open.buyer.chat.send({ conversationId: other.id, clientId: cid(), forward: { conversationId: open.conv.id, seq: src.seq } });
    expect(calls.map((c) => [c.body.data.message.type, c.body.data.message.text])).toEqual([['listing', 'bu?'], ['text', 'forward me'], ['forward', 'forward me']]);
  });
});
