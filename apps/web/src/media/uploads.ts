import { useCallback, useEffect, useRef, useState } from 'react';
import type { AttachmentDTO, AttachmentKind } from '@sohbet/protocol';
import { errorCode, useChatClient } from '../sdk.ts';

/** One file in the composer: uploading (with progress), ready to send, or failed with a code. */
export interface PendingUpload {
  localId: string;
  name: string;
  kind: AttachmentKind;
  size: number;
  /** 0..1 */
  progress: number;
  state: 'uploading' | 'ready' | 'failed';
  attachment: AttachmentDTO | null;
  error: string | null;
  /** A local object URL for an image preview. */
  preview: string | null;
  cancel(): void;
}

const IMAGE = /^image\/(png|jpeg|webp|gif)$/;
let seq = 0;

/**
 * The upload list of a composer (chat or support widget): files start uploading the moment they
 * are picked, dropped or pasted; `readyIds` go into the next message.
 */
export function useUploads(conversationId: string) {
  const client = useChatClient();
  const [uploads, setUploads] = useState<PendingUpload[]>([]);
  const live = useRef(uploads);
  live.current = uploads;

  const patch = useCallback((localId: string, p: Partial<PendingUpload>) => setUploads((list) => list.map((u) => (u.localId === localId ? { ...u, ...p } : u))), []);

  const start = useCallback(
    (file: Blob, opts: { name: string; kind?: AttachmentKind; type?: string }): Promise<AttachmentDTO> => {
      const localId = `up-${++seq}`;
      const type = opts.type ?? file.type;
      const kind = opts.kind ?? (IMAGE.test(type) ? 'image' : 'file');
      const task = client.media.upload(file, { conversationId, kind, name: opts.name, type, onProgress: (p) => patch(localId, { progress: p.fraction }) });
      const preview = kind === 'image' ? URL.createObjectURL(file) : null;
      setUploads((list) => [...list, { localId, name: opts.name, kind, size: file.size, progress: 0, state: 'uploading', attachment: null, error: null, preview, cancel: () => task.cancel() }]);
      task.then(
        (attachment) => patch(localId, { state: 'ready', progress: 1, attachment }),
        (err: unknown) => patch(localId, { state: 'failed', error: errorCode(err) }),
      );
      return task;
    },
    [client, conversationId, patch],
  );

  const addFiles = useCallback((files: Iterable<File>) => {
    for (const f of files) void start(f, { name: f.name || 'file' }).catch(() => {});
  }, [start]);

  const remove = useCallback((localId: string) => {
    const u = live.current.find((x) => x.localId === localId);
    if (!u) return;
    if (u.state === 'uploading') u.cancel();
    else if (u.attachment) void client.media.discard(u.attachment.id).catch(() => {});
    if (u.preview) URL.revokeObjectURL(u.preview);
    setUploads((list) => list.filter((x) => x.localId !== localId));
  }, [client]);

  /** After sending: the sent ones leave the tray (their previews are released). */
  const clearSent = useCallback(() => {
    for (const u of live.current) if (u.state === 'ready' && u.preview) URL.revokeObjectURL(u.preview);
    setUploads((list) => list.filter((u) => u.state !== 'ready'));
  }, []);

  // Another conversation: nothing carries over.
  useEffect(() => () => {
    for (const u of live.current) {
      if (u.state === 'uploading') u.cancel();
      if (u.preview) URL.revokeObjectURL(u.preview);
    }
    setUploads([]);
  }, [conversationId]);

  return {
    uploads,
    addFiles,
    start,
    remove,
    clearSent,
    busy: uploads.some((u) => u.state === 'uploading'),
    readyIds: uploads.filter((u) => u.state === 'ready').map((u) => u.attachment!.id),
  };
}

export type Uploads = ReturnType<typeof useUploads>;

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const ERROR_KEYS = {
  'media.too_large': 'media.err.tooLarge',
  'media.type_mismatch': 'media.err.type',
  'media.type_not_allowed': 'media.err.type',
  'media.corrupt': 'media.err.corrupt',
  'media.too_long': 'media.err.tooLong',
  'media.infected': 'media.err.infected',
  'media.empty': 'media.err.empty',
} as const;

/** A user-facing sentence for an upload's error code. */
export function mediaErrorText(t: (k: never, p?: Record<string, string | number>) => string, code: string | null): string {
  const key = ERROR_KEYS[code as keyof typeof ERROR_KEYS];
  return key ? t(key as never) : t('common.error' as never, { code: code ?? '' });
}
