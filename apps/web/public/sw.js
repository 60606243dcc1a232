/* Sohbet service worker: shows Web Push notifications (texts are localized by the server),
   clears them when the conversation is read or a call stops ringing, opens the conversation on click. */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

async function tell(msg) {
  for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) c.postMessage(msg);
}

self.addEventListener('push', (event) => {
  let p = {};
  try {
    p = event.data ? event.data.json() : {};
  } catch {
    return;
  }
  const data = p.data || {};
  const tag = data.callId ? `call:${data.callId}` : data.conversationId ? `conv:${data.conversationId}` : 'sohbet';
  event.waitUntil(
    (async () => {
      if (data.kind === 'badge' || data.kind === 'call_stop') {
        for (const n of await self.registration.getNotifications({ tag })) n.close();
        if ('setAppBadge' in navigator && typeof p.badge === 'number') await (p.badge ? navigator.setAppBadge(p.badge) : navigator.clearAppBadge());
        return;
      }
      if (!p.title) return;
      await self.registration.showNotification(p.title, {
        body: p.body || '',
        tag,
        renotify: data.kind === 'call_incoming',
        requireInteraction: data.kind === 'call_incoming',
        silent: Boolean(p.silent),
        icon: '/favicon.svg',
        data,
      });
      if ('setAppBadge' in navigator && typeof p.badge === 'number' && p.badge > 0) await navigator.setAppBadge(p.badge);
      await tell({ type: 'sohbet.displayed', notificationId: data.notificationId });
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.conversationId;
  event.waitUntil(
    (async () => {
      const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      if (wins[0]) {
        await wins[0].focus();
        if (id) wins[0].postMessage({ type: 'sohbet.open', conversationId: id });
      } else await self.clients.openWindow(id ? `/#/c/${encodeURIComponent(id)}` : '/');
    })(),
  );
});
