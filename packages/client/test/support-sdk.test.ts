import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { SohbetError } from '../src/errors.ts';
import { newClientId } from '../src/outbox.ts';
import { clientFor, record, startTestServer, until, type TestServer } from './support.ts';

describe('SDK live support against a real server', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('a customer starts a chat, the operator gets the offer as an event, accepts, and they exchange messages', async () => {
    const customer = clientFor(s, 'sdk-cust');
    const operator = clientFor(s, 'sdk-op', { token: () => s.token('sdk-op', { roles: ['operator'] }) });
    await Promise.all([customer.connect(), operator.connect()]);
    expect((await operator.support.updateMe({ status: 'available', topics: ['sdk'] })).status).toBe('available');
    const opEvents = record<StreamEvent>((f) => operator.on('event', f));
    const custEvents = record<StreamEvent>((f) => customer.on('event', f));
    const chat = await customer.support.start({ topic: 'sdk', text: 'Salam, kömək lazımdır', clientId: newClientId() });
    expect(chat.offeredTo).toBe('sdk-op');
    await until(() => opEvents.some((e) => e.type === 'support.chat.updated' && e.data.chat.id === chat.id && e.data.chat.state === 'offered'));
    const accepted = await operator.support.accept(chat.id);
    expect(accepted.operator?.id).toBe('sdk-op');
    await until(() => custEvents.some((e) => e.type === 'support.chat.updated' && e.data.chat.state === 'assigned'));
    await operator.chat.send({ conversationId: chat.conversationId, text: 'Salam! Buyurun.' });
    await until(() => custEvents.some((e) => e.type === 'chat.message.created' && e.data.message.text === 'Salam! Buyurun.'));
    expect((await customer.support.mine())[0]).toMatchObject({ id: chat.id, state: 'assigned' });
    customer.disconnect();
    operator.disconnect();
  });

  it('rejects operator calls from a customer with a typed SohbetError', async () => {
    const c = clientFor(s, 'sdk-not-op');
    await c.connect();
    const err = await c.support.queue().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SohbetError);
    expect((err as SohbetError).code).toBe('support.not_operator');
    c.disconnect();
  });
});
