import type { ChatClient } from '../sdk.ts';

/** Browser notifications through a service worker (Web Push), where the browser has both. */
export function browserPushSupport(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof window !== 'undefined' && 'PushManager' in window && 'Notification' in window;
}

/** Registers /sw.js, asks for permission, subscribes with the server's VAPID key and registers the subscription. */
export async function enableBrowserPush(client: ChatClient): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (!browserPushSupport()) return { ok: false, reason: 'unsupported' };
  const key = await client.notifications.webPushKey();
  if (!key) return { ok: false, reason: 'no_key' };
  if ((await Notification.requestPermission()) !== 'granted') return { ok: false, reason: 'denied' };
  const reg = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const sub = (await reg.pushManager.getSubscription()) ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
  const json = sub.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } };
  await client.notifications.registerDevice({ kind: 'webpush', subscription: { endpoint: json.endpoint, keys: json.keys } });
  return { ok: true };
}

/**
 * The service worker tells open pages which notifications it displayed; a page acknowledges them
 * (the trace reaches the device) and, on a click, opens the conversation.
 */
export function listenToServiceWorker(client: ChatClient, open: (conversationId: string) => void): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => {};
  const on = (e: MessageEvent) => {
    const d = e.data as { type?: string; notificationId?: string; conversationId?: string } | null;
    if (d?.type === 'sohbet.displayed' && d.notificationId) void client.notifications.acknowledgeDisplay(d.notificationId).catch(() => {});
    if (d?.type === 'sohbet.open' && d.conversationId) open(d.conversationId);
  };
  navigator.serviceWorker.addEventListener('message', on);
  return () => navigator.serviceWorker.removeEventListener('message', on);
}
