import type { AttachmentDTO } from '@sohbet/protocol';
import type { MediaRow } from './media.repo.ts';

export function attachmentDTO(r: MediaRow): AttachmentDTO {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    size: r.size ?? r.declaredSize,
    mime: r.mime ?? r.declaredMime,
    width: r.width,
    height: r.height,
    placeholder: r.placeholder,
    durationMs: r.durationMs,
    waveform: r.waveform ?? null,
    thumbnail: r.thumbKey !== null,
  };
}
