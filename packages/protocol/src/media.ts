import { z } from 'zod';

/** What a user attaches: a photo (shown inline, in a grid when several), any file, or a voice note. */
export const attachmentKind = z.enum(['image', 'file', 'voice']);
export type AttachmentKind = z.infer<typeof attachmentKind>;

export const MEDIA_LIMITS = {
  /** Attachments in one message (images show as a grid). */
  perMessage: 10,
  nameMax: 255,
  /** Peaks in a voice message's waveform, each 0..255. */
  waveformPeaks: 64,
} as const;

export const attachmentId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

/** Step 1 of an upload: what the client is about to send. The server answers with a signed URL. */
export const requestUploadInput = z.object({
  conversationId: z.string().min(1).max(128),
  kind: attachmentKind,
  name: z.string().trim().min(1).max(MEDIA_LIMITS.nameMax),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  mime: z.string().trim().min(1).max(127),
});
export type RequestUploadInput = z.infer<typeof requestUploadInput>;

export const attachmentRef = z.object({ attachmentId });
export const mediaUrlInput = z.object({ attachmentId, variant: z.enum(['original', 'thumbnail']).default('original') });
export const heardInput = z.object({ conversationId: z.string().min(1).max(128), seq: z.number().int().min(1) });

export interface UploadTicket {
  attachmentId: string;
  /** Relative to the Sohbet server on the local default; absolute (S3/MinIO) otherwise. */
  url: string;
  method: 'PUT' | 'POST';
  headers: Record<string, string>;
  /** For POST (form) uploads: fields to send before the file. */
  fields?: Record<string, string>;
  expiresAt: string;
}

/** The attachment metadata every client renders from (travels inside MessageDTO.payload). */
export interface AttachmentDTO {
  id: string;
  kind: AttachmentKind;
  name: string;
  size: number;
  /** Sniffed from the bytes, not what the client said. */
  mime: string;
  width: number | null;
  height: number | null;
  /** ThumbHash (base64) for a blurred placeholder while the thumbnail loads. */
  placeholder: string | null;
  durationMs: number | null;
  /** Voice: MEDIA_LIMITS.waveformPeaks values 0..255 to draw. */
  waveform: number[] | null;
  /** A server-made thumbnail exists (ask for variant 'thumbnail'). */
  thumbnail: boolean;
}

export interface MediaUrlDTO {
  url: string;
  expiresAt: string;
}

export interface MediaUsageDTO {
  userId: string;
  files: number;
  bytes: number;
}
