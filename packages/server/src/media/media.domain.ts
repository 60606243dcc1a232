import type { AttachmentKind } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';

/** What the bytes really are (from magic numbers), independent of the name and the claimed type. */
export type Sniffed =
  | { family: 'image'; mime: 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif' }
  | { family: 'audio'; mime: 'audio/webm' | 'audio/ogg' | 'audio/mp4' | 'audio/mpeg' | 'audio/wav' }
  | { family: 'document'; mime: 'application/pdf' | 'application/zip' | 'text/plain' }
  | { family: 'executable'; mime: 'application/x-executable' }
  | { family: 'markup'; mime: 'text/html' | 'image/svg+xml' }
  | { family: 'unknown'; mime: 'application/octet-stream' };

const startsWith = (b: Buffer, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);
const ascii = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('latin1');

/** Sniffs the first few KB of a file. */
export function sniff(head: Buffer): Sniffed {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { family: 'image', mime: 'image/png' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { family: 'image', mime: 'image/jpeg' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return { family: 'image', mime: 'image/webp' };
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return { family: 'image', mime: 'image/gif' };
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return { family: 'audio', mime: 'audio/webm' };
  if (ascii(head, 0, 4) === 'OggS') return { family: 'audio', mime: 'audio/ogg' };
  if (ascii(head, 4, 8) === 'ftyp' && /^(M4A |M4B |mp42|isom|mp41|3gp|dash|iso)/.test(ascii(head, 8, 12))) return { family: 'audio', mime: 'audio/mp4' };
  if (ascii(head, 0, 3) === 'ID3' || startsWith(head, [0xff, 0xfb]) || startsWith(head, [0xff, 0xf3])) return { family: 'audio', mime: 'audio/mpeg' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return { family: 'audio', mime: 'audio/wav' };
  if (ascii(head, 0, 5) === '%PDF-') return { family: 'document', mime: 'application/pdf' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return { family: 'document', mime: 'application/zip' };
  // Windows PE, ELF, Mach-O (both byte orders, fat), scripts with a shebang.
  if (ascii(head, 0, 2) === 'MZ' || startsWith(head, [0x7f, 0x45, 0x4c, 0x46]) || [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(head.length >= 4 ? head.readUInt32BE(0) : 0) || ascii(head, 0, 2) === '#!') {
    return { family: 'executable', mime: 'application/x-executable' };
  }
  const textHead = head.subarray(0, 4096);
  if (textHead.length > 0 && !textHead.includes(0) && isUtf8(textHead)) {
    const lower = textHead.toString('utf8').trimStart().slice(0, 512).toLowerCase();
    if (lower.startsWith('<svg') || (lower.startsWith('<?xml') && lower.includes('<svg'))) return { family: 'markup', mime: 'image/svg+xml' };
    if (/^(<!doctype html|<html|<head|<script|<body|<iframe)/.test(lower)) return { family: 'markup', mime: 'text/html' };
    return { family: 'document', mime: 'text/plain' };
  }
  return { family: 'unknown', mime: 'application/octet-stream' };
}

function isUtf8(b: Buffer): boolean {
  // A multi-byte character cut at the end of the sniff window is still text.
  for (let cut = 0; cut < 4 && cut < b.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, b.length - cut));
      return true;
    } catch {
      /* try a shorter window */
    }
  }
  return false;
}

/** What the name's extension and the declared type claim the file is. */
export function claimedFamily(name: string, declaredMime: string): Sniffed['family'] | 'office' | null {
  const ext = name.toLowerCase().match(/\.([a-z0-9]{1,8})$/)?.[1] ?? '';
  const m = declaredMime.toLowerCase();
  if (['png', 'jpg', 'jpeg', 'webp', 'gif', 'heic'].includes(ext) || m.startsWith('image/')) return m.includes('svg') || ext === 'svg' ? 'markup' : 'image';
  if (['webm', 'ogg', 'oga', 'opus', 'm4a', 'aac', 'mp3', 'wav'].includes(ext) || m.startsWith('audio/')) return 'audio';
  if (['exe', 'dll', 'msi', 'sh', 'bat', 'cmd', 'com', 'scr', 'elf', 'bin', 'app'].includes(ext)) return 'executable';
  if (['html', 'htm', 'svg', 'xhtml'].includes(ext) || m.includes('html')) return 'markup';
  if (['docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp'].includes(ext) || m.includes('officedocument') || m.includes('opendocument')) return 'office';
  if (ext === 'pdf' || m === 'application/pdf' || ext === 'zip' || m.includes('zip') || ['txt', 'csv', 'md', 'json', 'log'].includes(ext) || m.startsWith('text/')) return 'document';
  return null;
}

/**
 * The rule for what may be stored: the bytes must be of a family the attachment kind allows, and
 * must not contradict the name or the declared type (an executable named `.png` is a mismatch).
 * Executables, HTML/SVG and unknown binaries are never accepted.
 */
export function checkType(kind: AttachmentKind, name: string, declaredMime: string, s: Sniffed): void {
  const claimed = claimedFamily(name, declaredMime);
  const fits =
    claimed === null ||
    claimed === s.family ||
    (claimed === 'office' && s.mime === 'application/zip') ||
    // A voice note recorded as video/webm or a .ogg document are still what the bytes say.
    (claimed === 'document' && s.family === 'document');
  if (!fits) throw new AppError('media.type_mismatch', `the file's bytes are ${s.mime}, not what its name or type says`);
  const allowed = kind === 'image' ? s.family === 'image' : kind === 'voice' ? s.family === 'audio' : s.family === 'image' || s.family === 'audio' || s.family === 'document';
  if (!allowed) throw new AppError('media.type_not_allowed', kind === 'file' ? `${s.mime} files cannot be sent` : `a ${kind} attachment must be ${kind === 'image' ? 'an image' : 'audio'}`);
}

export interface Limits {
  imageBytes: number;
  fileBytes: number;
  voiceBytes: number;
  voiceSeconds: number;
}

export function maxBytesFor(kind: AttachmentKind, l: Limits): number {
  return kind === 'image' ? l.imageBytes : kind === 'voice' ? l.voiceBytes : l.fileBytes;
}

/** Checks the declared size up front (the real size is checked again at finalize). */
export function checkDeclaredSize(kind: AttachmentKind, size: number, l: Limits): void {
  if (size === 0) throw new AppError('media.empty', 'the file is empty');
  const max = maxBytesFor(kind, l);
  if (size > max) throw new AppError('media.too_large', `a ${kind} may be at most ${Math.floor(max / 1024 / 1024)} MB`, { maxBytes: max });
}

/** The message kind for a set of attachments: all images -> image; any voice -> voice; else file. */
export function messageKindOf(kinds: AttachmentKind[]): AttachmentKind {
  if (kinds.includes('voice')) return 'voice';
  return kinds.every((k) => k === 'image') ? 'image' : 'file';
}

/** A voice note travels alone: one per message, no other attachments. */
export function checkMessageAttachments(kinds: AttachmentKind[]): void {
  if (kinds.includes('voice') && kinds.length > 1) throw new AppError('media.too_many', 'a voice message carries one recording and nothing else');
}

/** `count` peaks (0..255) from mono PCM samples: the max |amplitude| per bucket, scaled to the loudest. */
export function peaks(samples: Int16Array, count: number): number[] {
  if (samples.length === 0) return new Array(count).fill(0);
  const out = new Array<number>(count).fill(0);
  const per = samples.length / count;
  for (let i = 0; i < count; i++) {
    let m = 0;
    const end = Math.min(samples.length, Math.floor((i + 1) * per));
    for (let j = Math.floor(i * per); j < end; j++) {
      const v = Math.abs(samples[j]!);
      if (v > m) m = v;
    }
    out[i] = m;
  }
  const top = Math.max(1, ...out);
  return out.map((v) => Math.round((v / top) * 255));
}
