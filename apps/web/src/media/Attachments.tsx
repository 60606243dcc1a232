import { memo, useMemo, useState } from 'react';
import type { AttachmentDTO } from '@sohbet/protocol';
import { thumbHashToDataURL } from 'thumbhash';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { ImageViewer } from './ImageViewer.tsx';
import { formatSize } from './uploads.ts';
import { useMediaUrl } from './useMediaUrl.ts';
import { VoicePlayer } from './VoicePlayer.tsx';

/** A message's attachments: an image grid, file cards, or a voice player. */
export const MessageAttachments = memo(function MessageAttachments({ items, conversationId, seq, mine }: { items: AttachmentDTO[]; conversationId: string; seq: number; mine: boolean }) {
  const images = items.filter((a) => a.kind === 'image');
  const files = items.filter((a) => a.kind === 'file');
  const voice = items.find((a) => a.kind === 'voice');
  const [open, setOpen] = useState<number | null>(null);
  return (
    <div className="attachments">
      {images.length > 0 && (
        <div className={`image-grid n${Math.min(images.length, 4)}`} data-testid="image-grid">
          {images.slice(0, 4).map((a, i) => (
            <Thumb key={a.id} a={a} more={i === 3 && images.length > 4 ? images.length - 4 : 0} single={images.length === 1} onOpen={() => setOpen(i)} />
          ))}
        </div>
      )}
      {files.map((a) => (
        <FileCard key={a.id} a={a} />
      ))}
      {voice && <VoicePlayer a={voice} conversationId={conversationId} seq={seq} mine={mine} />}
      {open !== null && <ImageViewer images={images} index={open} onIndex={setOpen} onClose={() => setOpen(null)} />}
    </div>
  );
});

function Thumb({ a, single, more, onOpen }: { a: AttachmentDTO; single: boolean; more: number; onOpen(): void }) {
  const { t } = useI18n();
  const url = useMediaUrl(a.id, a.thumbnail ? 'thumbnail' : 'original');
  const placeholder = useMemo(() => (a.placeholder ? thumbHashToDataURL(Uint8Array.from(atob(a.placeholder), (c) => c.charCodeAt(0))) : undefined), [a.placeholder]);
  const [loaded, setLoaded] = useState(false);
  // The box has the image's aspect ratio before anything loads, so the list does not jump.
  const ratio = single && a.width && a.height ? `${a.width} / ${a.height}` : '1 / 1';
  return (
    <button type="button" className="thumb" style={{ aspectRatio: ratio, backgroundImage: placeholder ? `url(${placeholder})` : undefined }} aria-label={t('media.openImage', { name: a.name })} onClick={onOpen} data-testid="thumb">
      {url && <img src={url} alt={a.name} className={loaded ? 'loaded' : ''} onLoad={() => setLoaded(true)} data-testid="thumb-img" />}
      {more > 0 && <span className="thumb-more">+{more}</span>}
    </button>
  );
}

const ICONS: Array<[RegExp, string]> = [
  [/pdf/, 'PDF'],
  [/zip/, 'ZIP'],
  [/^text\//, 'TXT'],
  [/^audio\//, 'AUDIO'],
  [/^image\//, 'IMG'],
];

function FileCard({ a }: { a: AttachmentDTO }) {
  const { t } = useI18n();
  const url = useMediaUrl(a.id);
  const ext = a.name.match(/\.([A-Za-z0-9]{1,5})$/)?.[1]?.toUpperCase();
  const label = ext ?? ICONS.find(([re]) => re.test(a.mime))?.[1] ?? 'FILE';
  return (
    <a className="file-card" href={url ?? undefined} download={a.name} aria-label={t('media.download', { name: a.name })} data-testid="file-card">
      <span className={`file-icon ${label.toLowerCase()}`} aria-hidden="true">
        <Icon name="file" size={22} />
        <span>{label}</span>
      </span>
      <span className="file-text">
        <span className="file-name">{a.name}</span>
        <span className="file-size">{formatSize(a.size)}</span>
      </span>
      <Icon name="download" size={18} />
    </a>
  );
}
