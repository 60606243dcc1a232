import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SafetyWarning } from '../src/safety.ts';
import { SohbetError } from '../src/errors.ts';
import { clientFor, startTestServer, until, type TestServer } from './support.ts';

describe('SDK marketplace safety against a real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  }, 180_000); // PGlite migrates in WASM: slow on a loaded machine
  afterAll(async () => {
    await s?.close();
  });

  it('a buyer reports a message; a moderator warns and suspends; the seller hears the warning, goes unauthenticated, and comes back once lifted', async () => {
    const buyer = clientFor(s, 'sdks-buyer');
    const seller = clientFor(s, 'sdks-seller');
    const mod = clientFor(s, 'sdks-mod', { token: () => s.token('sdks-mod', { roles: ['moderator'] }) });
    const admin = clientFor(s, 'sdks-admin', { token: () => s.token('sdks-admin', { roles: ['admin'] }) });
    await Promise.all([buyer.connect(), seller.connect()]);
    const warnings: SafetyWarning[] = [];
    seller.safety.onWarning((w) => warnings.push(w));

    const conv = await buyer.chat.openDirect({ userId: 'sdks-seller' });
    const m = await seller.chat.send({ conversationId: conv.id, text: 'WhatsApp-a yazın: 050 123 45 67' });
    const { reportId } = await buyer.safety.report({ conversationId: conv.id, messageId: m.id, reason: 'scam' });
    const err = await buyer.safety.moderation.reports().catch((e) => e);
    expect(err).toBeInstanceOf(SohbetError);
    expect(err.code).toBe('safety.not_moderator');

    const [report] = await mod.safety.moderation.reports({ status: 'open' });
    expect(report).toMatchObject({ id: reportId, messageId: m.id, reportedId: 'sdks-seller' });
    await mod.safety.moderation.resolve({ reportId, actions: ['warn', 'suspend'], message: 'No phone numbers, please.' });
    await until(() => warnings.length === 1 || seller.status === 'unauthenticated', 10_000);
    await until(() => seller.status === 'unauthenticated', 10_000);
    expect(seller.error?.code ?? null).toBe('auth.suspended');

    expect(await admin.safety.moderation.lift('sdks-seller')).toEqual({ lifted: true });
    await until(() => seller.status === 'connected', 15_000);
    // The warning was durable: it arrives (after the reconnect at the latest) exactly once.
    await until(() => warnings.length === 1, 10_000);
    expect(warnings).toEqual([{ reportId, reason: 'scam', message: 'No phone numbers, please.' }]);
    const audit = await admin.safety.moderation.audit({ targetId: 'sdks-seller' });
    expect(audit.map((a) => a.action)).toEqual(['user.unsuspend', 'user.suspend', 'user.warn']);
    for (const c of [buyer, seller, mod, admin]) c.disconnect();
  }, 60_000);
});
