/**
 * End-to-end for marketplace safety: the built web app served by a real Sohbet server (PGlite in
 * memory), driven in Chromium. A buyer (aysel) reports a seller's scam message; a moderator (a
 * host token with the `moderator` role) reviews the evidence on the Reports page and deletes the
 * message for everyone with a warning. Skipped without Chromium unless SOHBET_REQUIRE has "chromium".
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../../packages/server/test/harness.ts';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';

chromiumRequirement('marketplace safety end-to-end');

describe.runIf(haveChromium)('marketplace safety end-to-end', () => {
  const web = useWebApp();
  const { open, signIn, bubble } = web;
  let server: TestServer;
  beforeAll(() => {
    server = web.server;
  });

  it('a buyer reports a message, a moderator reviews the evidence and deletes it for everyone with a warning', async () => {
    const scam = 'Ödənişi bu karta edin, çatdırılma pulsuzdur: 4169 7388 1234 5678';
    const [conv] = await server.app.services.conversations.list('aysel', { archived: false, limit: 10 });
    await server.app.services.messages.send('rashad', { conversationId: conv!.id, clientId: 'e2e-safety-scam-1', text: scam });

    // The buyer opens the listing chat and reports the seller's message.
    const buyer = await open({ locale: 'en-US' });
    await signIn(buyer.page, 'aysel');
    await buyer.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    const msg = bubble(buyer.page, scam);
    await msg.waitFor({ timeout: 10_000 });
    await msg.hover();
    await msg.getByTestId('message-menu').click();
    await buyer.page.getByTestId('action-report').click();
    await buyer.page.getByTestId('report-dialog').waitFor();
    await buyer.page.getByTestId('report-reason-scam').check();
    await buyer.page.getByTestId('report-note').fill('Asks me to pay to a card before delivery');
    await buyer.page.getByTestId('report-submit').click();
    await buyer.page.getByTestId('report-dialog').waitFor({ state: 'detached' });
    // Own messages cannot be reported: the buyer's menu on their own message has no Report.
    const own = bubble(buyer.page, 'Salam! iPhone hələ satılır? Qiymətdə endirim mümkündür?');
    await own.hover();
    await own.getByTestId('message-menu').click();
    expect(await buyer.page.getByTestId('action-report').count()).toBe(0);
    await buyer.page.keyboard.press('Escape');

    // The moderator signs in with a host token and opens the Reports page.
    const mod = await open({ locale: 'en-US' });
    const token = await server.token('moderator-1', { name: 'Nigar Moderator', roles: ['moderator'] });
    await mod.page.goto(`${server.url}/?token=${encodeURIComponent(token)}#/reports`);
    await mod.page.getByTestId('reports-page').waitFor({ timeout: 15_000 });
    const row = mod.page.getByTestId('report-row').filter({ hasText: 'Rəşad Əliyev' });
    await row.first().waitFor({ timeout: 10_000 });
    await row.first().click();
    const detail = mod.page.getByTestId('report-detail');
    await detail.getByTestId('evidence-reported').filter({ hasText: scam }).waitFor();
    // The messages around it are there too (the seeded conversation).
    expect(await detail.getByTestId('evidence-msg').count()).toBeGreaterThanOrEqual(2);
    await mod.page.screenshot({ path: path.join(shots, 'safety-reports.png') });
    await detail.getByTestId('resolve-delete_message').check();
    await detail.getByTestId('resolve-warn').check();
    await detail.getByTestId('resolve-message').fill('Payments go through the app only.');
    await detail.getByTestId('resolve-apply').click();
    await mod.page.getByTestId('reports-empty').waitFor({ timeout: 10_000 });

    // The buyer sees the message deleted, live.
    await expect.poll(() => buyer.page.getByTestId('message-text').getByText(scam, { exact: true }).count(), { timeout: 10_000 }).toBe(0);
    const [report] = await server.app.services.safety.listReports({ status: 'resolved', limit: 5 });
    expect(report).toMatchObject({ reporterId: 'aysel', reportedId: 'rashad', resolvedBy: 'moderator-1', resolution: { actions: ['delete_message', 'warn'] } });
    const audit = await server.app.services.safety.auditLog({ actorId: 'moderator-1', limit: 10 });
    expect(audit.map((a) => a.action).sort()).toEqual(['message.delete', 'report.resolve', 'user.warn']);

    // A buyer without the moderator role has no Reports page.
    expect(await buyer.page.getByTestId('reports-open').count()).toBe(0);
  }, 120_000);
});
