/**
 * End-to-end in Chromium: the web app under the server's Content-Security-Policy reports no
 * violation while a buyer and a seller chat, send photos (thumbnails, placeholders, the viewer),
 * open the settings and download their data export.
 */
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { png } from '../../../packages/server/test/media-fixtures.ts';
import { chromiumRequirement, haveChromium, useWebApp } from './browser.ts';

chromiumRequirement('web CSP end-to-end');

type Violation = { directive: string; blocked: string; source: string };

async function watch(context: BrowserContext, page: Page): Promise<{ violations: () => Promise<Violation[]>; console: string[] }> {
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) console.push(m.text());
  });
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: Violation[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}` }));
  });
  return { violations: () => page.evaluate(() => (window as unknown as { __csp: Violation[] }).__csp), console };
}

describe.runIf(haveChromium)('web CSP end-to-end', () => {
  const web = useWebApp();

  async function openListingChat(page: Page) {
    await page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await page.getByTestId('conversation-view').waitFor();
  }

  it('serves the app with a CSP and reports no violation while chatting, sending photos and using the settings', async () => {
    const buyer = await web.open();
    const bw = await watch(buyer.context, buyer.page);
    const res = await buyer.page.reload();
    expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await web.signIn(buyer.page, 'aysel');
    await openListingChat(buyer.page);
    await buyer.page.getByTestId('composer').fill('CSP salam');
    await buyer.page.getByTestId('composer').press('Enter');
    await web.bubble(buyer.page, 'CSP salam').waitFor();
    await buyer.page.getByTestId('attach-input').setInputFiles([{ name: 'qutu.png', mimeType: 'image/png', buffer: await png(400, 300) }]);
    await expect.poll(() => buyer.page.locator('[data-testid="upload"][data-state="ready"]').count(), { timeout: 20_000 }).toBe(1);
    await buyer.page.getByTestId('composer').fill('Qutusu');
    await buyer.page.getByTestId('send').click();

    const seller = await web.open();
    const sw = await watch(seller.context, seller.page);
    await seller.page.reload();
    await web.signIn(seller.page, 'rashad');
    await openListingChat(seller.page);
    const msg = web.bubble(seller.page, 'Qutusu');
    await msg.getByTestId('image-grid').waitFor({ timeout: 15_000 });
    const thumb = msg.getByTestId('thumb-img').first();
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
    await msg.getByTestId('thumb').first().click();
    await expect.poll(() => seller.page.getByTestId('viewer-img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(400);
    await seller.page.keyboard.press('Escape');
    await seller.page.getByTestId('composer').fill('Gördüm');
    await seller.page.getByTestId('composer').press('Enter');
    await web.bubble(buyer.page, 'Gördüm').waitFor({ timeout: 10_000 });

    // Settings: notification preferences and the privacy export (a blob: download).
    await buyer.page.getByTestId('notify-open').click();
    await buyer.page.getByTestId('notify-settings').waitFor();
    const download = buyer.page.waitForEvent('download');
    await buyer.page.getByTestId('privacy-export').click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('sohbet-export-aysel.json');

    await buyer.page.waitForTimeout(300);
    expect(await bw.violations()).toEqual([]);
    expect(await sw.violations()).toEqual([]);
    expect([...bw.console, ...sw.console]).toEqual([]);
  }, 150_000);
});
