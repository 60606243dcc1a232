import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeProviders, providerEnv } from '../../server/test/notify-fakes.ts';
import { SohbetError } from '../src/errors.ts';
import { clientFor, startTestServer, until, type TestServer } from './support.ts';

const untilAsync = async (cond: () => Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 30));
  }
};

describe('SDK notifications against a real server and a local Expo push service', () => {
  let s: TestServer;
  const fakes = new FakeProviders();
  beforeAll(async () => {
    await fakes.start();
    s = await startTestServer({ env: { ...providerEnv(fakes), NOTIFY_MESSAGE_DELAY_SECONDS: '0', NOTIFY_WORKER_MS: '50' } });
  });
  afterAll(async () => {
    await s.close();
    await fakes.close();
  });

  it('registers a device over HTTP (no socket), gets the push, acknowledges display; the admin sees the trace end at the device', async () => {
    const buyer = clientFor(s, 'sdkn-a');
    const seller = clientFor(s, 'sdkn-b');
    await buyer.connect();
    const dev = await seller.notifications.registerDevice({ kind: 'expo', token: 'ExponentPushToken[sdknotifications0001]' }); // seller never connected
    expect(dev).toMatchObject({ kind: 'expo' });
    expect((await seller.notifications.devices()).map((d) => d.id)).toEqual([dev.id]);
    const conv = await buyer.chat.openDirect({ userId: 'sdkn-b' });
    await buyer.chat.send({ conversationId: conv.id, text: 'Salam, elan aktivdir?' });
    await until(() => fakes.of('expo.send').some((r) => r.json.some((m: { to: string }) => m.to === 'ExponentPushToken[sdknotifications0001]')));
    const push = fakes.of('expo.send').flatMap((r) => r.json).find((m: { to: string }) => m.to === 'ExponentPushToken[sdknotifications0001]');
    expect(push.body).toBe('Salam, elan aktivdir?');
    await seller.notifications.acknowledgeDisplay(push.data.notificationId);
    const admin = clientFor(s, 'sdkn-admin', { token: () => s.token('sdkn-admin', { roles: ['admin'] }) });
    const trace = await admin.notifications.admin.outbox({ userId: 'sdkn-b' });
    expect(trace[0]).toMatchObject({ state: 'delivered', channel: 'expo', kind: 'message' });
    expect(trace[0]!.displayedAt).not.toBeNull();
    expect((await admin.notifications.admin.stats()).providers.find((p) => p.channel === 'expo')).toEqual({ channel: 'expo', enabled: true });
    buyer.disconnect();
  });

  it('while the conversation is open on the phone, no push is sent; bad tokens reject with notify.invalid_token', async () => {
    const a = clientFor(s, 'sdkn-c');
    const b = clientFor(s, 'sdkn-d');
    await Promise.all([a.connect(), b.connect()]);
    await b.notifications.registerDevice({ kind: 'expo', token: 'ExponentPushToken[sdknotifications0002]' });
    const conv = await a.chat.openDirect({ userId: 'sdkn-d' });
    await b.notifications.setActive(conv.id);
    await a.chat.send({ conversationId: conv.id, text: 'you are looking at this' });
    const admin = clientFor(s, 'sdkn-admin2', { token: () => s.token('sdkn-admin2', { roles: ['admin'] }) });
    await untilAsync(async () => (await admin.notifications.admin.outbox({ userId: 'sdkn-d' }))[0]?.state === 'skipped');
    expect((await admin.notifications.admin.outbox({ userId: 'sdkn-d' }))[0]!.reason).toBe('active');
    await b.notifications.setActive(null);
    const err = await b.notifications.registerDevice({ kind: 'fcm', token: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SohbetError);
    expect((err as SohbetError).code).toBe('notify.invalid_token');
    a.disconnect();
    b.disconnect();
  });
});
