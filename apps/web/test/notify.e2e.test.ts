/**
 * End-to-end for the notification settings page: the built web app, a real server, Chromium.
 * Skipped without Chromium unless SOHBET_REQUIRE has "chromium".
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tables, type MessageKey } from '../src/i18n/strings.ts';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';

/** The UI text of a key in either language (the page picks its language from the browser and the user's choice). */
const text = (key: MessageKey) => new RegExp(`^(${[tables.az[key], tables.en[key]].map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);

chromiumRequirement('notification settings end-to-end');

describe.runIf(haveChromium)('notification settings end-to-end', () => {
  const web = useWebApp();

  it('a user opts in to missed-call SMS, sets quiet hours and English texts; the server keeps them across a reload', async () => {
    const { page } = await web.open({ locale: 'en-US' });
    await web.signIn(page, 'rashad');
    await page.getByTestId('notify-open').click();
    await page.getByTestId('notify-settings').waitFor();
    await page.getByTestId('notify-channel-sms').check();
    await page.getByTestId('notify-kind-message').uncheck();
    await page.getByTestId('notify-quiet-start').fill('23:00');
    await page.getByTestId('notify-quiet-end').fill('07:30');
    await page.getByTestId('notify-locale').selectOption('en');
    await page.getByTestId('notify-phone').fill('+994501234567');
    await page.getByTestId('notify-save').click();
    await page.getByText(text('notify.saved')).waitFor();
    await page.screenshot({ path: path.join(shots, 'notification-settings.png') });

    const prefs = await web.server.app.services.notify.preferences('rashad');
    expect(prefs).toMatchObject({ locale: 'en', phone: '+994501234567', channels: { push: true, sms: true }, kinds: { message: false, call: true }, quietHours: { start: 23 * 60, end: 7 * 60 + 30 } });

    await page.reload();
    await page.getByTestId('notify-settings').waitFor();
    await expect.poll(() => page.getByTestId('notify-channel-sms').isChecked()).toBe(true);
    expect(await page.getByTestId('notify-quiet-start').inputValue()).toBe('23:00');
    expect(await page.getByTestId('notify-kind-message').isChecked()).toBe(false);
  });

  it('a bad phone number is refused and nothing changes; without Web Push on the server the browser button says so', async () => {
    const { page } = await web.open({ locale: 'en-US' });
    await web.signIn(page, 'aysel');
    await page.getByTestId('notify-open').click();
    await page.getByTestId('notify-settings').waitFor();
    await page.getByTestId('notify-phone').fill('0501234567');
    await page.getByTestId('notify-save').click();
    await page.getByText(/input\.invalid/).waitFor();
    expect((await web.server.app.services.notify.preferences('aysel')).phone).toBeNull();
    // Headless Chromium has service workers and PushManager; this server has no VAPID keys.
    await page.getByTestId('notify-browser-enable').click();
    await page.getByText(text('notify.browser.no_key')).waitFor();
  });

  it('serves the service worker that shows Web Push notifications', async () => {
    const res = await fetch(`${web.server.url}/sw.js`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("addEventListener('push'");
  });
});
