/**
 * End-to-end for calls: the built web app on a real Sohbet server, two Chromium contexts (the
 * buyer aysel and the seller rashad) with fake camera and microphone. ICE stays on loopback: no
 * STUN/TURN servers configured, host candidates only, loopback allowed in peer connections.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumRequirement, haveChromium, shots, useWebApp } from './browser.ts';

chromiumRequirement('calls end-to-end');

/** Records every RTCPeerConnection the page creates, so the test can read getStats(). */
const TRACK_PCS = `(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) { const pc = new Orig(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Orig);
})();`;

/** Every decoded video frame's time and size (ffprobe decodes the VP8 stream; its size follows the key frames). */
async function videoFrames(file: string): Promise<Array<{ t: number; w: number; h: number }>> {
  const out = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts_time,width,height', '-of', 'csv=p=0', file], { maxBuffer: 16 << 20 });
  return out.stdout.trim().split('\n').map((l) => l.split(',')).filter((c) => c.length >= 3 && c[0] !== 'N/A').map(([t, w, h]) => ({ t: Number(t), w: Number(w), h: Number(h) }));
}

/** Bytes received over the page's live peer connection, by media kind. */
async function received(page: Page): Promise<{ audio: number; video: number; state: string }> {
  return page.evaluate(async () => {
    // The call's own connection (a recorded call adds a send-only one to the server's recorder).
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((p) => p.connectionState !== 'closed');
    const out = { audio: 0, video: 0, state: pcs[0]?.connectionState ?? 'none' };
    for (const pc of pcs) {
      (await pc.getStats()).forEach((r: { type: string; kind?: string; bytesReceived?: number }) => {
        if (r.type === 'inbound-rtp' && (r.kind === 'audio' || r.kind === 'video')) out[r.kind] += r.bytesReceived ?? 0;
      });
    }
    return out;
  });
}

/** The page's outgoing video on every open connection (the call's, and a recorded call's leg to the server): frame size and frames sent. */
async function sentVideo(page: Page): Promise<Array<{ w: number; h: number; frames: number }>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((p) => p.connectionState !== 'closed');
    const out: Array<{ w: number; h: number; frames: number }> = [];
    for (const pc of pcs) {
      (await pc.getStats()).forEach((r: { type: string; kind?: string; frameWidth?: number; frameHeight?: number; framesSent?: number }) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video') out.push({ w: r.frameWidth ?? 0, h: r.frameHeight ?? 0, frames: r.framesSent ?? 0 });
      });
    }
    return out;
  });
}

describe.runIf(haveChromium)('calls end-to-end', () => {
  // The server's recording peer offers loopback only, like the browsers' peer connections here.
  const web = useWebApp({ env: { CALL_RECORDER_HOST: '127.0.0.1' }, chromiumArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--auto-select-desktop-capture-source=Entire screen'] });
  const { open, signIn } = web;
  /** "3:12" → 192 */
  const seconds = (text: string | null) => {
    const m = /^(\d+):(\d{2})$/.exec(text ?? '');
    return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
  };
  // A failed test must not leave the pair in a call (the next test would get "busy").
  afterEach(async () => {
    const calls = web.server.app.services.calls;
    for (const u of ['aysel', 'rashad']) for (const c of await calls.history(u, { limit: 5 })) if (c.state !== 'ended') await calls.hangup(u, c.id).catch(() => {});
  });

  async function party(userId: string) {
    const p = await open({ locale: 'en-US' });
    await p.context.grantPermissions(['camera', 'microphone'], { origin: web.server.url });
    await p.page.addInitScript(TRACK_PCS);
    await p.page.goto(`${web.server.url}/?lang=en`);
    await signIn(p.page, userId);
    return p;
  }

  it('the buyer video-calls the seller from the listing chat; the seller answers; media flows both ways; screen share starts and stops; hang up; history shows the duration', async () => {
    const seller = await party('rashad');
    const buyer = await party('aysel');
    await buyer.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await buyer.page.getByTestId('conversation-view').waitFor();

    await buyer.page.getByTestId('call-video').click();
    await expect.poll(() => buyer.page.getByTestId('call-status').textContent(), { timeout: 10_000 }).toBe('Ringing…');
    const incoming = seller.page.getByTestId('incoming-call');
    await incoming.waitFor({ timeout: 10_000 });
    expect(await incoming.textContent()).toContain('Aysel');
    await seller.page.screenshot({ path: path.join(shots, 'call-incoming.png') });

    const acceptedAt = Date.now();
    await seller.page.getByTestId('call-accept').click();
    // Media flowing on both sides: getStats bytesReceived > 0 for audio and video.
    let mediaMs = 0;
    await expect
      .poll(async () => {
        const [a, b] = await Promise.all([received(buyer.page), received(seller.page)]);
        const ok = a.audio > 0 && a.video > 0 && b.audio > 0 && b.video > 0;
        if (ok && !mediaMs) mediaMs = Date.now() - acceptedAt;
        return ok;
      }, { timeout: 15_000, interval: 50 })
      .toBe(true);
    writeFileSync(path.join(shots, 'call-accept-to-media.json'), JSON.stringify({ acceptToMediaMs: mediaMs }));
    console.log(`[calls e2e] accept → media flowing both ways: ${mediaMs} ms`);
    await expect.poll(() => buyer.page.getByTestId('call-screen').getAttribute('data-state'), { timeout: 10_000 }).toBe('active');
    await expect.poll(async () => seconds(await seller.page.getByTestId('call-status').textContent()), { timeout: 5000 }).toBeGreaterThanOrEqual(0);

    // Screen share: the seller's screen replaces the camera; the buyer keeps receiving video.
    await seller.page.getByTestId('call-screen-share').click();
    await seller.page.getByTestId('call-sharing').waitFor({ timeout: 10_000 });
    await buyer.page.getByText('Rəşad Əliyev is sharing their screen').waitFor({ timeout: 10_000 });
    const before = (await received(buyer.page)).video;
    await expect.poll(async () => (await received(buyer.page)).video, { timeout: 10_000 }).toBeGreaterThan(before);
    await seller.page.screenshot({ path: path.join(shots, 'call-screen-share.png') });
    await seller.page.getByTestId('call-screen-share').click();
    await expect.poll(() => seller.page.getByTestId('call-sharing').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => buyer.page.getByText('Rəşad Əliyev is sharing their screen').count(), { timeout: 10_000 }).toBe(0);

    // Quality: each side shows the other's bars once reports arrive.
    await buyer.page.getByTestId('call-quality').waitFor({ timeout: 10_000 });
    await buyer.page.screenshot({ path: path.join(shots, 'call-in-call.png') });

    // Let the call run past two seconds, then the buyer hangs up.
    await expect.poll(async () => seconds(await buyer.page.getByTestId('call-status').textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await buyer.page.getByTestId('call-hangup').click();
    await expect.poll(() => buyer.page.getByTestId('call-screen').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => seller.page.getByTestId('call-screen').count(), { timeout: 10_000 }).toBe(0);

    // The conversation shows the call as a system entry, and the history lists it with its duration.
    await seller.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await seller.page.getByTestId('message').filter({ hasText: /^Video call, \d+:\d{2}$/ }).waitFor({ timeout: 10_000 });
    await seller.page.getByTestId('calls-open').click();
    const row = seller.page.getByTestId('call-row').first();
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-reason')).toBe('completed');
    const rowText = await row.getByTestId('call-row-text').textContent();
    expect(rowText).toMatch(/^Video call, \d+:\d{2}$/);
    expect(seconds(rowText!.replace('Video call, ', ''))).toBeGreaterThanOrEqual(2);
    await seller.page.screenshot({ path: path.join(shots, 'call-history.png') });
    // The ≤ 1.5 s target is a benchmark number (measured 920 ms on a quiet box); here only a sanity bound, as CI boxes are shared.
    expect(mediaMs).toBeLessThan(10_000);
  }, 120_000);

  it('a declined call stops ringing on every device of the callee and says so to the caller', async () => {
    const seller1 = await party('rashad');
    const seller2 = await party('rashad');
    const buyer = await party('aysel');
    await buyer.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await buyer.page.getByTestId('call-audio').click();
    await seller1.page.getByTestId('incoming-call').waitFor({ timeout: 10_000 });
    await seller2.page.getByTestId('incoming-call').waitFor({ timeout: 10_000 });
    await seller2.page.getByTestId('call-decline').click();
    await expect.poll(() => seller1.page.getByTestId('incoming-call').count(), { timeout: 10_000 }).toBe(0);
    await buyer.page.getByText('Call declined').first().waitFor({ timeout: 10_000 });
    await expect.poll(() => buyer.page.getByTestId('call-screen').count(), { timeout: 10_000 }).toBe(0);
    await buyer.page.getByTestId('message').filter({ hasText: /^Declined call$/ }).first().waitFor({ timeout: 10_000 });
  }, 60_000);

  it('a recorded video call shows the recording indicator on both sides and yields a WebM per party with audio and video; the sharer’s file shows the screen in place of the camera for the share period', async () => {
    const seller = await party('rashad');
    const buyer = await party('aysel');
    await buyer.page.getByTestId('conversation').filter({ hasText: 'iPhone 13 Pro' }).first().locator('.conv-row').click();
    await buyer.page.getByTestId('conv-menu').click();
    await buyer.page.getByTestId('call-video-recorded').click();
    await seller.page.getByTestId('incoming-call').waitFor({ timeout: 10_000 });
    await seller.page.getByTestId('call-accept').click();
    await expect.poll(async () => (await received(buyer.page)).video > 0 && (await received(seller.page)).video > 0, { timeout: 15_000 }).toBe(true);
    await seller.page.screenshot({ path: path.join(shots, 'call-recorded-seller.png') });
    await buyer.page.screenshot({ path: path.join(shots, 'call-recorded-buyer.png') });
    await buyer.page.getByText('Recording', { exact: true }).waitFor({ timeout: 15_000 });
    await seller.page.getByText('Recording', { exact: true }).waitFor({ timeout: 15_000 });
    // The recorder legs are up once the server has a `recording` record for each party.
    const services = web.server.app.services;
    const [live] = await services.calls.history('aysel', { limit: 1 });
    await expect.poll(async () => (await services.calls.listRecordings('rashad', live!.id, false)).length, { timeout: 15_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 3000)); // camera
    // The seller shares the screen for ~5 s, then goes back to the camera.
    const clickedAt = Date.now();
    await seller.page.getByTestId('call-screen-share').click({ noWaitAfter: true, timeout: 60_000 });
    await seller.page.getByTestId('call-sharing').waitFor({ timeout: 30_000 });
    const sharingAt = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const stopAt = Date.now();
    await seller.page.getByTestId('call-screen-share').click({ noWaitAfter: true, timeout: 60_000 });
    await expect.poll(() => seller.page.getByTestId('call-sharing').count(), { timeout: 30_000 }).toBe(0);
    const shareMinMs = stopAt - sharingAt;
    const shareMaxMs = Date.now() - clickedAt;
    // Camera again: on a loaded machine the encoder takes a while to switch back, so wait until
    // every connection has sent camera-shaped frames for a while (≥ 45 frames, ~1.5 s at 30 fps).
    let cameraFrom: number[] | null = null;
    await expect
      .poll(async () => {
        const now = await sentVideo(seller.page);
        if (!now.length || !now.every((v) => v.h > 0 && v.w / v.h <= 1.5)) return false;
        cameraFrom ??= now.map((v) => v.frames);
        return now.every((v, i) => v.frames - (cameraFrom![i] ?? v.frames) >= 45);
      }, { timeout: 30_000, interval: 250 })
      .toBe(true);
    await buyer.page.getByTestId('call-hangup').click();
    await expect.poll(() => seller.page.getByTestId('call-screen').count(), { timeout: 10_000 }).toBe(0);

    const [call] = await services.calls.history('aysel', { limit: 1 });
    expect(call!.recording).toBe(true);
    let files: Awaited<ReturnType<typeof services.calls.listRecordings>> = [];
    await expect.poll(async () => (files = await services.calls.listRecordings('rashad', call!.id, false)).map((f) => f.status), { timeout: 30_000 }).toEqual(['ready', 'ready']);
    const run = promisify(execFile);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-rec-e2e-'));
    for (const f of files) {
      expect(f.status).toBe('ready');
      const res = await fetch(`${web.server.url}${f.url!}`);
      expect(res.status).toBe(200);
      const file = path.join(dir, `${f.userId}.webm`);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'json', file]);
      const kinds = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string }> }).streams.map((s) => s.codec_type).sort();
      expect({ party: f.userId, kinds }).toEqual({ party: f.userId, kinds: ['audio', 'video'] });
      if (f.userId !== 'rashad') continue;
      // The sharer's file: Chromium's fake camera is 4:3 (640x480, smaller under load), the shared screen wider than 3:2.
      const frames = await videoFrames(file);
      const isScreen = (fr: { w: number; h: number }) => fr.w / fr.h > 1.5;
      const first = frames.findIndex(isScreen);
      const last = frames.length - 1 - [...frames].reverse().findIndex(isScreen);
      console.log(`[calls e2e] sharer's recording: ${frames.length} frames, screen from ${frames[first]?.t} s to ${frames[last]?.t} s (${frames[first]?.w}x${frames[first]?.h}); shared ${shareMinMs}–${shareMaxMs} ms`);
      expect(first).toBeGreaterThan(0); // camera before the share
      expect(last).toBeLessThan(frames.length - 1); // camera after it
      expect(frames.slice(first, last + 1).every(isScreen)).toBe(true); // one share, the screen in place of the camera
      const sharedMs = (frames[last]!.t - frames[first]!.t) * 1000;
      expect(sharedMs).toBeGreaterThanOrEqual(shareMinMs - 1500);
      expect(sharedMs).toBeLessThanOrEqual(shareMaxMs + 1500);
      expect(frames.at(-1)!.t - frames[last]!.t).toBeGreaterThan(1); // the camera again, after the share
    }
  }, 300_000);
});
