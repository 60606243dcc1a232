import { useEffect } from 'react';
import { useChatClient } from '../sdk.ts';
import { listenToServiceWorker } from './webpush.ts';

/**
 * Tells the server which conversation this tab shows while the tab is visible (no push for it),
 * and acknowledges notifications the service worker displayed.
 */
export function useNotifyActive(conversationId: string | null, open: (id: string) => void): void {
  const client = useChatClient();
  useEffect(() => {
    const sync = () => void client.notifications.setActive(document.visibilityState === 'visible' ? conversationId : null).catch(() => {});
    sync();
    document.addEventListener('visibilitychange', sync);
    return () => {
      document.removeEventListener('visibilitychange', sync);
      void client.notifications.setActive(null).catch(() => {});
    };
  }, [client, conversationId]);
  useEffect(() => listenToServiceWorker(client, open), [client, open]);
}
