/**
 * End-to-end: the built web app served by a real Sohbet server (PGlite in memory, 127.0.0.1:0),
 * driven in Chromium through playwright-core. Two browser contexts are the buyer and the seller.
 * Skipped when Chromium is missing, unless SOHBET_REQUIRE contains "chromium" (CI), then it fails.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestServer } from '../../../packages/server/test/harness.ts';
import { seedDemo } from '../../../packages/server/src/demo/demo.seed.ts';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';
import path from 'node:path';

chromiumRequirement('web app end-to-end');

describe.runIf(haveChromium)('web app end-to-end', () => {
  const web = useWebApp();
  const { open, signIn, bubble, contexts } = web;
  let server: TestServer;
  beforeAll(() => {
    server = web.server;
  });
  async function openListingChat(page: Page) {
    await page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await page.getByTestId('conversation-view').waitFor();
  }

  const tick = (page: Page, text: string) => bubble(page, text).getByTestId('ticks');

  it('seeds the demo data idempotently', async () => {
    const again = await seedDemo(server.app.services);
    const first = await seedDemo(server.app.services);
    expect(again.conversationId).toBe(first.conversationId);
    const page = await server.app.services.messages.history('aysel', { conversationId: first.conversationId, limit: 50 });
    expect(page.messages).toHaveLength(2);
  });

  it('lets a buyer and a seller chat: ticks go sent → delivered → read, typing shows and clears', async () => {
    const buyer = await open();
    await buyer.page.getByTestId('demo-user-aysel').waitFor();
    await buyer.page.screenshot({ path: path.join(shots, 'sign-in.png') });
    await signIn(buyer.page, 'aysel');
    await openListingChat(buyer.page);
    await bubble(buyer.page, 'Salam, bəli, satılır. Batareya 89%-dir. 1400 AZN-ə razılaşa bilərik.').waitFor();

    // The seller is not signed in: the message is stored but reached no device of theirs.
    const text = 'Razıyam, sabah saat 11-də görüşək?';
    await buyer.page.getByTestId('composer').fill(text);
    await buyer.page.getByTestId('composer').press('Enter');
    await expect.poll(() => tick(buyer.page, text).getAttribute('data-tick'), { timeout: 10_000 }).toBe('sent');
    expect(await buyer.page.getByTestId('composer').inputValue()).toBe('');

    // The seller's app receives it (delivered) while showing only the list.
    const seller = await open();
    await signIn(seller.page, 'rashad');
    const row = seller.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' });
    await expect.poll(() => row.getByTestId('unread-badge').textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => tick(buyer.page, text).getAttribute('data-tick'), { timeout: 10_000 }).toBe('delivered');
    await seller.page.screenshot({ path: path.join(shots, 'conversation-list.png') });

    // The seller opens the conversation: read.
    await openListingChat(seller.page);
    await bubble(seller.page, text).waitFor();
    await expect.poll(() => tick(buyer.page, text).getAttribute('data-tick'), { timeout: 10_000 }).toBe('read');

    // Typing shows on the buyer's side and clears when the message comes.
    const reply = 'Olar, 11-də metro "28 May" çıxışında.';
    await seller.page.getByTestId('composer').pressSequentially('Olar', { delay: 30 });
    await expect.poll(() => buyer.page.getByTestId('typing').textContent(), { timeout: 10_000 }).toContain('Rəşad Əliyev');
    await seller.page.getByTestId('composer').fill(reply);
    await seller.page.getByTestId('composer').press('Enter');
    await bubble(buyer.page, reply).waitFor();
    await expect.poll(() => buyer.page.getByTestId('typing').textContent(), { timeout: 10_000 }).toBe('');
    await buyer.page.screenshot({ path: path.join(shots, 'conversation-view.png') });
  });

  it('sends a message written offline exactly once after reconnecting', async () => {
    const [buyerCtx, sellerCtx] = contexts;
    const buyer = buyerCtx!.pages()[0]!;
    const seller = sellerCtx!.pages()[0]!;
    await buyerCtx!.setOffline(true);
    await buyer.getByTestId('status-banner').waitFor({ timeout: 15_000 });
    const text = 'Bu mesaj oflayn yazıldı';
    await buyer.getByTestId('composer').fill(text);
    await buyer.getByTestId('composer').press('Enter');
    await expect.poll(() => tick(buyer, text).getAttribute('data-tick'), { timeout: 5_000 }).toMatch(/pending|failed/);
    await buyer.screenshot({ path: path.join(shots, 'offline.png') });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await bubble(seller, text).count()).toBe(0);

    await buyerCtx!.setOffline(false);
    await bubble(seller, text).waitFor({ timeout: 20_000 });
    await expect.poll(() => tick(buyer, text).getAttribute('data-tick'), { timeout: 20_000 }).toMatch(/sent|delivered|read/);
    await buyer.getByTestId('status-banner').waitFor({ state: 'detached', timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await bubble(seller, text).count()).toBe(1);
    expect(await bubble(buyer, text).count()).toBe(1);
    const stored = await server.app.services.messages.search('rashad', { query: 'oflayn', limit: 10 });
    expect(stored.filter((m) => m.text === text)).toHaveLength(1);
  });

  it('pages older history in as the reader scrolls up, keeping only a window of rows in the page', async () => {
    const services = server.app.services;
    await services.conversations.upsertUser({ id: 'kamran', name: 'Kamran Hüseynov', avatarUrl: null, roles: [] });
    const conv = await services.conversations.openDirect('kamran', { userId: 'aysel', context: { type: 'listing', id: 'listing-2002', title: 'Velosiped Trek FX 3', price: { amount: 620, currency: 'AZN' } } });
    for (let i = 1; i <= 160; i++) {
      const from = i % 2 ? 'kamran' : 'aysel';
      await services.messages.send(from, { conversationId: conv.id, clientId: `hist-${String(i).padStart(4, '0')}`, text: `Tarixçə mesajı ${String(i).padStart(3, '0')}` });
    }
    const page = contexts[0]!.pages()[0]!;
    await page.getByTestId('conversation').filter({ hasText: 'Velosiped' }).locator('.conv-row').click();
    await bubble(page, 'Tarixçə mesajı 160').waitFor({ timeout: 10_000 });
    expect(await bubble(page, 'Tarixçə mesajı 001').count()).toBe(0);
    const scroller = page.getByTestId('message-scroller');
    for (let i = 0; i < 40 && (await bubble(page, 'Tarixçə mesajı 001').count()) === 0; i++) {
      await scroller.evaluate((el) => (el.scrollTop = 0));
      await page.waitForTimeout(250);
    }
    await bubble(page, 'Tarixçə mesajı 001').waitFor({ timeout: 5_000 });
    await expect.poll(() => page.getByTestId('history-edge').textContent()).toBe('Söhbətin başlanğıcı');
    // Windowed: far fewer rows in the DOM than messages loaded.
    expect(await page.getByTestId('message').count()).toBeLessThan(100);
  });

  it('switches the UI language between Azerbaijani and English', async () => {
    const page = contexts[0]!.pages()[0]!;
    await expect.poll(() => page.locator('.list-title').textContent()).toBe('Söhbətlər');
    await page.getByTestId('lang-switch').selectOption('en');
    await expect.poll(() => page.locator('.list-title').textContent()).toBe('Chats');
    expect(await page.getByTestId('composer').getAttribute('placeholder')).toBe('Write a message…');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.screenshot({ path: path.join(shots, 'conversation-view-en.png') });
    await page.getByTestId('lang-switch').selectOption('az');
    await expect.poll(() => page.locator('.list-title').textContent()).toBe('Söhbətlər');
  });

  it('shows one pane at a time on a phone-sized screen', async () => {
    const { page } = await open({ mobile: true });
    await signIn(page, 'rashad');
    await page.screenshot({ path: path.join(shots, 'mobile-list.png') });
    await openListingChat(page);
    expect(await page.locator('.sidebar').isVisible()).toBe(false);
    await page.getByTestId('composer').waitFor();
    await page.screenshot({ path: path.join(shots, 'mobile-conversation.png') });
    await page.getByTestId('back').click();
    await page.locator('.sidebar').waitFor();
  });
});
