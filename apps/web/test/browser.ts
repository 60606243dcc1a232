/**
 * Shared launch code of the web app's end-to-end suites: a production build of the app served by
 * a real Sohbet server (PGlite in memory, 127.0.0.1:0, demo data seeded) and headless Chromium
 * through playwright-core. Suites are skipped when Chromium is missing, unless SOHBET_REQUIRE
 * contains "chromium" (CI): then a missing browser fails the run.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { startTestServer, type TestServer } from '../../../packages/server/test/harness.ts';
import { seedDemo } from '../../../packages/server/src/demo/demo.seed.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const webRoot = path.resolve(here, '..');
/** Each run writes fresh screenshots here (git-ignored); the curated ones live in docs/screenshots. */
export const shots = process.env.SCREENSHOTS_DIR || path.resolve(here, '../../../test-results/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const required = (process.env.SOHBET_REQUIRE ?? '').split(',').map((s) => s.trim()).includes('chromium');
export const haveChromium = existsSync(CHROMIUM);

/** Registers the failing placeholder when Chromium is required but missing; warns when it is skipped. */
export function chromiumRequirement(suite: string): void {
  if (!haveChromium && !required) console.warn(`[${suite}] skipped: no Chromium at ${CHROMIUM} (install it with apt-get install -y chromium, or set CHROMIUM_PATH)`);
  describe.runIf(required && !haveChromium)(`${suite} (Chromium required)`, () => {
    it('has Chromium, because SOHBET_REQUIRE contains chromium', () => {
      throw new Error(`SOHBET_REQUIRE contains chromium but there is no browser at ${CHROMIUM}`);
    });
  });
}

export interface WebApp {
  readonly server: TestServer;
  /** Browser contexts opened so far, in order. */
  readonly contexts: readonly BrowserContext[];
  open(opts?: { mobile?: boolean; locale?: string }): Promise<{ context: BrowserContext; page: Page }>;
  signIn(page: Page, userId: string): Promise<void>;
  bubble(page: Page, text: string): ReturnType<Page['getByTestId']>;
}

/** Call inside a describe: builds the app, starts the server and the browser before the suite, stops them after. */
export function useWebApp(opts: { chromiumArgs?: string[]; env?: Record<string, string> } = {}): WebApp {
  let server: TestServer;
  let browser: Browser;
  let outDir: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-web-dist-'));
    // A production build, as `npm start` serves it (vitest sets NODE_ENV=test, which would pick React's dev build).
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ root: webRoot, configFile: path.join(webRoot, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    // The suites seed long histories through the send path, faster than the per-user message limit allows.
    server = await startTestServer({ env: { WEB_DIST_DIR: outDir, RATE_LIMITS: 'message=1000/1m', ...(opts.env ?? {}) } });
    await seedDemo(server.app.services);
    // playwright gives each launch a fresh temporary profile (user-data dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.chromiumArgs ?? [])],
    });
    mkdirSync(shots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  return {
    get server() {
      return server;
    },
    contexts,
    async open(opts = {}) {
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
      // The server's Content-Security-Policy applies to every suite: a blocked resource is printed.
      page.on('console', (m) => /Content Security Policy|Refused to (load|connect|execute|apply|evaluate)/i.test(m.text()) && console.error('[csp]', m.text()));
      await page.goto(server.url);
      return { context, page };
    },
    async signIn(page, userId) {
      await page.getByTestId(`demo-user-${userId}`).click();
      await page.getByTestId('me-name').waitFor();
    },
    bubble: (page, text) => page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) }),
  };
}
