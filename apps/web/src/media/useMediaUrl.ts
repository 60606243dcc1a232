import { useEffect, useState } from 'react';
import { useChatClient } from '../sdk.ts';

/** A signed URL for an attachment (members only, short-lived; the SDK caches it). */
export function useMediaUrl(attachmentId: string | null, variant: 'original' | 'thumbnail' = 'original'): string | null {
  const client = useChatClient();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!attachmentId) return;
    let on = true;
    client.media.url(attachmentId, variant).then((u) => on && setUrl(u), () => on && setUrl(null));
    return () => {
      on = false;
    };
  }, [client, attachmentId, variant]);
  return url;
}
