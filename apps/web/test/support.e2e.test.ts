/**
 * End-to-end for live support: the built web app served by a real Sohbet server (PGlite in
 * memory), driven in Chromium. One context is the customer (aysel), one the operator.
 * Launch code as in web.e2e.test.ts. Skipped without Chromium unless SOHBET_REQUIRE has "chromium".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestServer } from '../../../packages/server/test/harness.ts';
import { seedDemo } from '../../../packages/server/src/demo/demo.seed.ts';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';
import path from 'node:path';

chromiumRequirement('live support end-to-end');

describe.runIf(haveChromium)('live support end-to-end', () => {
  const web = useWebApp();
  const { open, signIn, bubble } = web;
  let server: TestServer;
  beforeAll(() => {
    server = web.server;
  });

  it('customer starts a support chat, the operator accepts it, they talk, the operator resolves it', async () => {
    // The operator comes online first and sets themself available.
    const op = await open({ locale: 'en-US' });
    await signIn(op.page, 'operator');
    await op.page.getByTestId('support-open').click();
    await op.page.getByTestId('operator-console').waitFor();
    await op.page.getByTestId('operator-status-available').check();
    await expect.poll(() => op.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('available');

    // The customer opens support, picks a topic and writes the first message.
    const customer = await open();
    await signIn(customer.page, 'aysel');
    await customer.page.getByTestId('support-open').click();
    await customer.page.getByTestId('support-form').waitFor();
    await customer.page.getByTestId('support-topic-delivery').check();
    const first = 'Sifarişim hələ çatmayıb, harada olduğunu deyə bilərsiniz?';
    await customer.page.getByTestId('support-text').fill(first);
    await customer.page.getByTestId('support-start').click();
    await customer.page.getByTestId('support-status').waitFor();
    await bubble(customer.page, first).waitFor({ timeout: 10_000 });

    // The server offers it to the available operator, who accepts.
    const offer = op.page.getByTestId('support-offer').filter({ hasText: first });
    await offer.waitFor({ timeout: 15_000 });
    await op.page.screenshot({ path: path.join(shots, 'support-console.png') });
    await offer.getByTestId('support-accept').click();
    await op.page.getByTestId('support-resolve').waitFor({ timeout: 10_000 });
    await bubble(op.page, first).waitFor({ timeout: 10_000 });

    // The customer sees the operator joined.
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('assigned');
    await customer.page.getByTestId('support-joined').waitFor();

    // One message each way.
    const reply = 'Salam! Sifarişiniz yoldadır, sabah çatacaq.';
    await op.page.getByTestId('composer').fill(reply);
    await op.page.getByTestId('composer').press('Enter');
    await bubble(customer.page, reply).waitFor({ timeout: 10_000 });
    const thanks = 'Çox sağ olun!';
    await customer.page.getByTestId('composer').fill(thanks);
    await customer.page.getByTestId('composer').press('Enter');
    await bubble(op.page, thanks).waitFor({ timeout: 10_000 });
    await op.page.screenshot({ path: path.join(shots, 'support-console-chat.png') });

    // The operator resolves; the customer sees it resolved.
    await op.page.getByTestId('support-resolve').click();
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    await customer.page.getByTestId('support-resolved').waitFor();
    await customer.page.screenshot({ path: path.join(shots, 'support-customer.png') });
    await op.page.getByTestId('support-resolve').waitFor({ state: 'detached', timeout: 10_000 });
  }, 120_000);

  it('lets the operator decline an offer and take the chat from the queue later (English UI)', async () => {
    const op = await open({ locale: 'en-US' });
    await op.page.goto(`${server.url}/?lang=en`);
    await signIn(op.page, 'operator');
    await op.page.getByTestId('support-open').click();
    await op.page.getByTestId('operator-console').waitFor();
    await op.page.getByTestId('operator-status-available').check();
    await expect.poll(() => op.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('available');

    const customer = await open({ locale: 'en-US' });
    await customer.page.goto(`${server.url}/?lang=en`);
    await signIn(customer.page, 'aysel');
    await customer.page.getByTestId('support-open').click();
    await customer.page.getByTestId('support-form').waitFor();
    await customer.page.getByTestId('support-topic-payment').check();
    const first = 'My card was charged twice.';
    await customer.page.getByTestId('support-text').fill(first);
    await customer.page.getByTestId('support-start').click();
    await customer.page.getByTestId('support-status').getByText('Payment').waitFor({ timeout: 10_000 });

    const offer = op.page.getByTestId('support-offer').filter({ hasText: first });
    await offer.waitFor({ timeout: 15_000 });
    await offer.getByTestId('support-decline').click();
    await offer.waitFor({ state: 'detached', timeout: 10_000 });

    // Declined by the only operator: it waits in the queue; the customer sees their place.
    const row = op.page.getByTestId('support-queue-row').filter({ hasText: first });
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('queued');
    await customer.page.getByTestId('support-position').waitFor();
    await op.page.screenshot({ path: path.join(shots, 'support-console-queue-en.png') });

    await row.getByTestId('support-pick').click();
    await op.page.getByTestId('support-resolve').waitFor({ timeout: 10_000 });
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('assigned');
    await op.page.getByTestId('support-resolve').click();
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
  }, 120_000);

  it('works on a phone: one pane at a time for the customer and the operator', async () => {
    const op = await open({ mobile: true });
    await signIn(op.page, 'operator');
    await op.page.getByTestId('support-open').click();
    await op.page.getByTestId('operator-status-available').check();
    await expect.poll(() => op.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('available');

    const customer = await open({ mobile: true });
    await signIn(customer.page, 'aysel');
    await customer.page.getByTestId('support-open').click();
    await customer.page.getByTestId('support-topic-account').check();
    const first = 'Hesabıma daxil ola bilmirəm.';
    await customer.page.getByTestId('support-text').fill(first);
    await customer.page.getByTestId('support-start').click();
    await bubble(customer.page, first).waitFor({ timeout: 10_000 });
    expect(await customer.page.getByTestId('support-status').isVisible()).toBe(true);

    const offer = op.page.getByTestId('support-offer').filter({ hasText: first });
    await offer.waitFor({ timeout: 15_000 });
    await op.page.screenshot({ path: path.join(shots, 'support-console-mobile.png') });
    await offer.getByTestId('support-accept').click();
    await bubble(op.page, first).waitFor({ timeout: 10_000 });
    // The chat takes the whole screen; the lists are hidden until the operator goes back.
    expect(await op.page.getByTestId('operator-status').isVisible()).toBe(false);
    await op.page.getByTestId('support-resolve').click();
    await op.page.getByTestId('operator-status').waitFor({ state: 'visible', timeout: 10_000 });
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
  }, 120_000);
});
