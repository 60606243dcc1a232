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

  /** Signs an operator in, opens the console and sets a status (the server's answer settles it). */
  async function console_(userId: string, status: 'available' | 'away', opts: { locale?: string } = {}) {
    const o = await open(opts);
    await signIn(o.page, userId);
    await o.page.getByTestId('support-open').click();
    await o.page.getByTestId('operator-console').waitFor();
    await o.page.getByTestId(`operator-status-${status}`).check();
    await expect.poll(() => o.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe(status);
    return o;
  }

  it('the issue flow: the customer waits with a queue place, the operator accepts, notes and a canned reply, resolves, the customer rates and the supervisor sees it', async () => {
    // Nobody available yet: the chat waits and the customer sees their place in the queue.
    const op = await console_('operator', 'away');
    const customer = await open();
    await signIn(customer.page, 'aysel');
    await customer.page.getByTestId('support-open').click();
    await customer.page.getByTestId('support-form').waitFor();
    await customer.page.getByTestId('support-topic-delivery').check();
    const first = 'Bağlamam nə vaxt gələcək?';
    await customer.page.getByTestId('support-text').fill(first);
    await customer.page.getByTestId('support-start').click();
    await customer.page.getByTestId('support-position').getByText('Növbədə yeriniz: 1').waitFor({ timeout: 10_000 });

    await op.page.getByTestId('operator-status-available').check();
    const offer = op.page.getByTestId('support-offer').filter({ hasText: first });
    await offer.waitFor({ timeout: 15_000 });
    await offer.getByTestId('support-accept').click();
    await bubble(op.page, first).waitFor({ timeout: 10_000 });
    // The joined notice is translated on each side from its code (az here).
    await customer.page.getByTestId('message').filter({ hasText: 'Operator söhbətə qoşuldu' }).first().waitFor({ timeout: 10_000 });

    // An internal note: the operator sees it, the customer never does.
    await op.page.getByTestId('support-note-input').fill('Kuryer xidməti ilə yoxla');
    await op.page.getByTestId('support-note-add').click();
    await op.page.getByTestId('support-note').filter({ hasText: 'Kuryer xidməti ilə yoxla' }).waitFor({ timeout: 10_000 });

    // The operator saves a canned response, inserts it into the composer and sends it.
    await op.page.locator('.canned-new summary').click();
    await op.page.getByTestId('support-canned-title').fill('Çatdırılma');
    await op.page.getByTestId('support-canned-text').fill('Bağlamanız 2-3 iş günü ərzində çatacaq.');
    await op.page.getByTestId('support-canned-save').click();
    await expect.poll(async () => (await op.page.getByTestId('support-canned').locator('option').allTextContents()).join('|'), { timeout: 10_000 }).toContain('Çatdırılma');
    await op.page.getByTestId('support-canned').selectOption({ label: 'Çatdırılma' });
    await expect.poll(() => op.page.getByTestId('composer').inputValue()).toBe('Bağlamanız 2-3 iş günü ərzində çatacaq.');
    await op.page.getByTestId('composer').press('Enter');
    await bubble(customer.page, 'Bağlamanız 2-3 iş günü ərzində çatacaq.').waitFor({ timeout: 10_000 });
    await customer.page.getByTestId('composer').fill('Təşəkkür edirəm!');
    await customer.page.getByTestId('composer').press('Enter');
    await bubble(op.page, 'Təşəkkür edirəm!').waitFor({ timeout: 10_000 });
    await op.page.screenshot({ path: path.join(shots, 'support-console-desk.png') });

    await op.page.getByTestId('support-resolve').click();
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    await customer.page.getByTestId('message').filter({ hasText: 'Müraciət həll olundu' }).first().waitFor({ timeout: 10_000 });
    expect(await customer.page.getByText('Kuryer xidməti ilə yoxla').count()).toBe(0);

    // CSAT: five stars and a comment, once.
    await customer.page.getByTestId('support-star-5').check({ force: true });
    await customer.page.getByTestId('support-rate-comment').fill('Çox tez cavab verdilər');
    await customer.page.getByTestId('support-rate-send').click();
    await customer.page.getByTestId('support-rated').getByText('5/5').waitFor({ timeout: 10_000 });
    await customer.page.screenshot({ path: path.join(shots, 'support-customer-rated.png') });

    const boss = await console_('supervisor', 'away', { locale: 'en-US' });
    await boss.page.getByTestId('support-supervisor').waitFor();
    await boss.page.getByTestId('metric-csat').getByText('5').waitFor({ timeout: 10_000 });
    await boss.page.screenshot({ path: path.join(shots, 'support-supervisor.png') });
    await op.page.getByTestId('operator-status-away').check();
    await expect.poll(() => op.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('away');
  }, 150_000);

  it('transfers a chat between two operators end to end: the second operator gets it with its history and replies', async () => {
    const one = await console_('operator', 'available');
    const two = await console_('operator2', 'away');
    const customer = await open();
    await signIn(customer.page, 'rashad');
    await customer.page.getByTestId('support-open').click();
    await customer.page.getByTestId('support-topic-order').check();
    const first = 'Sifarişimi ləğv etmək istəyirəm.';
    await customer.page.getByTestId('support-text').fill(first);
    await customer.page.getByTestId('support-start').click();
    const offer = one.page.getByTestId('support-offer').filter({ hasText: first });
    await offer.waitFor({ timeout: 15_000 });
    await offer.getByTestId('support-accept').click();
    await bubble(one.page, first).waitFor({ timeout: 10_000 });

    await two.page.getByTestId('operator-status-available').check();
    await expect.poll(() => two.page.getByTestId('operator-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('available');
    await expect.poll(async () => (await one.page.getByTestId('support-transfer-to').locator('option').allTextContents()).join('|'), { timeout: 10_000 }).toContain('Leyla Operator (Aktiv');
    await one.page.getByTestId('support-transfer-to').selectOption({ value: 'operator2' });
    await one.page.getByTestId('support-transfer-note').fill('ləğv: ödəniş qaytarılmalıdır');
    await one.page.getByTestId('support-transfer').click();
    await one.page.getByTestId('support-resolve').waitFor({ state: 'detached', timeout: 10_000 });

    const mine = two.page.getByTestId('support-my-chat').filter({ hasText: first });
    await mine.waitFor({ timeout: 10_000 });
    await mine.click();
    await bubble(two.page, first).waitFor({ timeout: 10_000 });
    await two.page.getByTestId('support-history').locator('summary').click();
    await two.page.getByTestId('support-history').getByText('ləğv: ödəniş qaytarılmalıdır').waitFor({ timeout: 10_000 });
    await customer.page.getByTestId('message').filter({ hasText: 'Leyla Operator söhbətə qoşuldu' }).first().waitFor({ timeout: 10_000 });
    await two.page.getByTestId('composer').fill('Salam, ləğv edirəm, pul 3 günə qayıdacaq.');
    await two.page.getByTestId('composer').press('Enter');
    await bubble(customer.page, 'Salam, ləğv edirəm, pul 3 günə qayıdacaq.').waitFor({ timeout: 10_000 });
    await two.page.getByTestId('support-resolve').click();
    await expect.poll(() => customer.page.getByTestId('support-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    for (const o of [one, two]) await o.page.getByTestId('operator-status-away').check();
  }, 150_000);
});
