/**
 * End-to-end in Chromium: photos and a voice message between a buyer and a seller, through the real
 * upload flow (signed URLs on the local default). The voice message is recorded from Chromium's
 * fake microphone (--use-fake-device-for-media-stream), so the server decodes real Opus/WebM.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { jpegWithGps, pdf, png } from '../../../packages/server/test/media-fixtures.ts';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';

chromiumRequirement('web media end-to-end');

describe.runIf(haveChromium)('web media end-to-end', () => {
  const web = useWebApp({ chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  async function openListingChat(page: Page) {
    await page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await page.getByTestId('conversation-view').waitFor();
  }

  it('sends two photos: the seller sees the grid with thumbnails and opens the original in the viewer', async () => {
    const buyer = await web.open();
    await web.signIn(buyer.page, 'aysel');
    await openListingChat(buyer.page);
    await buyer.page.getByTestId('attach-input').setInputFiles([
      { name: 'iphone-arxa.jpg', mimeType: 'image/jpeg', buffer: await jpegWithGps(1200, 800) },
      { name: 'qutu.png', mimeType: 'image/png', buffer: await png(400, 400) },
    ]);
    await expect.poll(() => buyer.page.locator('[data-testid="upload"][data-state="ready"]').count(), { timeout: 20_000 }).toBe(2);
    await buyer.page.getByTestId('composer').fill('Arxa tərəfi və qutusu');
    await buyer.page.getByTestId('send').click();
    await expect.poll(() => buyer.page.getByTestId('upload').count()).toBe(0);

    const seller = await web.open();
    await web.signIn(seller.page, 'rashad');
    await openListingChat(seller.page);
    const msg = web.bubble(seller.page, 'Arxa tərəfi və qutusu');
    await msg.getByTestId('image-grid').waitFor({ timeout: 15_000 });
    const thumbs = msg.getByTestId('thumb-img');
    await expect.poll(() => thumbs.count()).toBe(2);
    // Thumbnails really load (decoded by the browser from the signed URL), at most 480 px.
    await expect.poll(() => thumbs.first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(480);
    await seller.page.screenshot({ path: path.join(shots, 'media-image-grid.png') });
    await msg.getByTestId('thumb').first().click();
    const big = seller.page.getByTestId('viewer-img');
    await expect.poll(() => big.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(1200);
    await seller.page.keyboard.press('Escape');
    await expect.poll(() => seller.page.getByTestId('viewer').count()).toBe(0);
  });

  it('accepts files dropped on the composer and pasted into it, shows a file card with size to the other side, and a refused file says why', async () => {
    const buyer = await web.open();
    await web.signIn(buyer.page, 'aysel');
    await openListingChat(buyer.page);
    const pdfBase64 = pdf().toString('base64');
    // What a browser does on drag-and-drop and on paste: events carrying a DataTransfer with Files.
    await buyer.page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const drop = new DataTransfer();
      drop.items.add(new File([bytes], 'qaimə.pdf', { type: 'application/pdf' }));
      const form = document.querySelector('[data-testid="composer-form"]')!;
      form.dispatchEvent(new DragEvent('dragover', { dataTransfer: drop, bubbles: true, cancelable: true }));
      form.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
      const paste = new DataTransfer();
      paste.items.add(new File([new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0])], 'screenshot.png', { type: 'image/png' }));
      document.querySelector('[data-testid="composer"]')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
    }, pdfBase64);
    await expect.poll(() => buyer.page.locator('[data-testid="upload"][data-state="ready"]').count(), { timeout: 20_000 }).toBe(1);
    const refused = buyer.page.locator('[data-testid="upload"][data-state="failed"]');
    await expect.poll(() => refused.count(), { timeout: 20_000 }).toBe(1);
    expect(await refused.getByRole('alert').textContent()).toBe('Bu fayl növü göndərilə bilməz');
    await refused.getByRole('button').click();
    await buyer.page.getByTestId('send').click();

    const seller = await web.open();
    await web.signIn(seller.page, 'rashad');
    await openListingChat(seller.page);
    const card = seller.page.getByTestId('file-card').last();
    await card.waitFor({ timeout: 15_000 });
    expect(await card.textContent()).toContain('qaimə.pdf');
    expect(await card.getAttribute('download')).toBe('qaimə.pdf');
    // The card links to a signed URL that is fetched after it renders.
    await expect.poll(() => card.getAttribute('href'), { timeout: 15_000 }).toBeTruthy();
    const href = await card.getAttribute('href');
    const res = await fetch(new URL(href!, web.server.url));
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('records a voice message from the microphone: the seller sees its duration, plays it, and it counts as heard', async () => {
    const buyer = await web.open();
    await buyer.context.grantPermissions(['microphone']);
    await web.signIn(buyer.page, 'aysel');
    await openListingChat(buyer.page);
    await buyer.page.getByTestId('record').click();
    await buyer.page.getByTestId('recorder').waitFor();
    // The live level meter moves with Chromium's fake microphone beeps.
    await expect.poll(() => buyer.page.getByTestId('level').getAttribute('aria-valuenow').then(Number), { timeout: 5000 }).toBeGreaterThan(0);
    await buyer.page.waitForTimeout(2600);
    await buyer.page.getByTestId('record-send').click();

    const seller = await web.open();
    await web.signIn(seller.page, 'rashad');
    await openListingChat(seller.page);
    const voice = seller.page.getByTestId('voice').last();
    await voice.waitFor({ timeout: 20_000 });
    const shown = await voice.getByTestId('voice-duration').textContent();
    expect(shown).toMatch(/^0:0[2-4]$/);
    await seller.page.screenshot({ path: path.join(shots, 'media-voice.png') });
    await voice.getByTestId('voice-play').click();
    await expect.poll(() => voice.getByTestId('voice-play').getAttribute('data-playing'), { timeout: 10_000 }).toBe('true');
    await voice.getByTestId('voice-speed').click();
    expect(await voice.getByTestId('voice-speed').textContent()).toBe('1.5×');

    const services = web.server.app.services;
    const conv = (await services.conversations.list('aysel', { archived: false, limit: 10 })).find((c) => c.context?.title.includes('iPhone 13 Pro'))!;
    const last = conv.lastMessage!;
    expect(last.kind).toBe('voice');
    await expect.poll(async () => (await services.media.heard('aysel', { conversationId: conv.id, seqs: [last.seq] })).map((h) => h.userId), { timeout: 10_000 }).toEqual(['rashad']);
  });
});
