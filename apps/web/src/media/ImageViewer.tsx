import { useEffect, useRef } from 'react';
import type { AttachmentDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useMediaUrl } from './useMediaUrl.ts';

/** Full-screen viewer: the original image, previous/next with arrows, Esc closes, download link. */
export function ImageViewer({ images, index, onIndex, onClose }: { images: AttachmentDTO[]; index: number; onIndex(i: number): void; onClose(): void }) {
  const { t } = useI18n();
  const a = images[index]!;
  const url = useMediaUrl(a.id);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.focus();
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
      else if (e.key === 'ArrowRight' && index < images.length - 1) onIndex(index + 1);
      else if (e.key === 'ArrowLeft' && index > 0) onIndex(index - 1);
    };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [index, images.length, onClose, onIndex]);
  return (
    <div className="viewer" role="dialog" aria-modal="true" aria-label={t('media.viewer', { name: a.name })} tabIndex={-1} ref={box} onClick={(e) => e.target === e.currentTarget && onClose()} data-testid="viewer">
      <div className="viewer-bar">
        <span>{images.length > 1 ? `${index + 1} / ${images.length}` : a.name}</span>
        {url && (
          <a className="icon-btn" href={url} download={a.name} aria-label={t('media.download', { name: a.name })}>
            <Icon name="download" />
          </a>
        )}
        <button type="button" className="icon-btn" aria-label={t('common.close')} onClick={onClose} data-testid="viewer-close">
          <Icon name="close" />
        </button>
      </div>
      {index > 0 && (
        <button type="button" className="viewer-nav prev" aria-label={t('media.prev')} onClick={() => onIndex(index - 1)}>
          <Icon name="back" />
        </button>
      )}
      {url && <img src={url} alt={a.name} width={a.width ?? undefined} height={a.height ?? undefined} data-testid="viewer-img" />}
      {index < images.length - 1 && (
        <button type="button" className="viewer-nav next" aria-label={t('media.next')} onClick={() => onIndex(index + 1)}>
          <Icon name="back" />
        </button>
      )}
    </div>
  );
}
