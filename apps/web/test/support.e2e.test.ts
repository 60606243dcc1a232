/**
 * End-to-end for live support: the built web app served by a real Sohbet server (PGlite in
 * memory), driven in Chromium. One context is the customer (aysel), one the operator.
 * Launch code as in web.e2e.test.ts. Skipped without Chromium unless SOHBET_REQUIRE has "chromium".
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { startTestServer, type TestServer } from '../../../packages/server/test/harness.ts';
import { seedDemo } from '../../../packages/server/src/demo/demo.seed.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const webRoot = path.resolve(here, '..');
// Each run writes fresh screenshots here (git-ignored); the curated ones live in docs/screenshots.
const shots = process.env.SCREENSHOTS_DIR || path.resolve(here, '../../../test-results/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const required = (process.env.SOHBET_REQUIRE ?? '').split(',').map((s) => s.trim()).includes('chromium');
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium && !required) console.warn(`[support e2e] skipped: no Chromium at ${CHROMIUM} (install it with apt-get install -y chromium, or set CHROMIUM_PATH)`);

describe.runIf(required && !haveChromium)('live support end-to-end (Chromium required)', () => {
  it('has Chromium, because SOHBET_REQUIRE contains chromium', () => {
    throw new Error(`SOHBET_REQUIRE contains chromium but there is no browser at ${CHROMIUM}`);
  });
});

describe.runIf(haveChromium)('live support end-to-end', () => {
  let server: TestServer;
  let browser: Browser;
  let outDir: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-support-dist-'));
    // A production build, as `npm start` serves it (vitest sets NODE_ENV=test, which would pick React's dev build).
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ root: webRoot, configFile: path.join(webRoot, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    server = await startTestServer({ env: { WEB_DIST_DIR: outDir } });
    await seedDemo(server.app.services);
    // playwright gives each launch a fresh temporary profile (user-data dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(shots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  async function open(opts: { mobile?: boolean; locale?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: opts.mobile ? { width: 390, height: 780 } : { width: 1200, height: 780 },
      deviceScaleFactor: opts.mobile ? 2 : 1,
      isMobile: !!opts.mobile,
      hasTouch: !!opts.mobile,
      locale: opts.locale ?? 'az-AZ',
      timezoneId: 'Asia/Baku',
    });
    // Everything stays on the test server: nothing leaves 127.0.0.1.
    await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|ws:\/\/127\.0\.0\.1[:/]|data:|blob:)/, (route) => route.abort());
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    await page.goto(server.url);
    return { context, page };
  }

  async function signIn(page: Page, userId: string) {
    await page.getByTestId(`demo-user-${userId}`).click();
    await page.getByTestId('me-name').waitFor();
  }

  const bubble = (page: Page, text: string) => page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });

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
