import type { Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { AppError } from '../core/errors.ts';

/** Thumbnails fit in this box; big enough for a grid cell on a phone at 2x. */
export const THUMB_MAX = 480;
/** The ThumbHash is computed from at most this many pixels a side (see thumbHashOf). */
const THUMBHASH_MAX = 32;
/** Larger images are refused before decoding (decompression bombs). */
const MAX_PIXELS = 100_000_000;

export interface ProcessedImage {
  /** The original re-encoded without metadata (no EXIF, GPS, camera serials), orientation applied. */
  clean: Buffer;
  thumbnail: Buffer;
  width: number;
  height: number;
  /** ThumbHash, base64. */
  placeholder: string;
}

/**
 * Decodes, checks and cleans an uploaded image. libvips runs on its own threads, so this does not
 * block the event loop. Truncated or corrupt data fails (failOn 'warning') -> media.corrupt.
 */
export async function processImage(bytes: Buffer, mime: string): Promise<ProcessedImage> {
  // libvips is loaded on the first image, not at server start.
  const sharp = (await import('sharp')).default;
  try {
    const animated = mime === 'image/gif' || mime === 'image/webp';
    const input = () => sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_PIXELS, animated }).rotate();
    const meta = await sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_PIXELS }).metadata();
    if (!meta.width || !meta.height) throw new AppError('media.corrupt', 'the image has no size');
    // EXIF orientations 5-8 swap width and height.
    const swap = (meta.orientation ?? 1) >= 5;
    const frameHeight = animated && meta.pageHeight ? meta.pageHeight : meta.height;
    const [width, height] = swap ? [frameHeight, meta.width] : [meta.width, frameHeight];
    // An upright JPEG loses its metadata without being decoded again (the costliest step by far for a
    // 12 MP photo, and lossless); one that must be rotated, and other formats, are re-encoded.
    // sharp writes no metadata unless asked (withMetadata), so re-encoding drops EXIF/GPS/XMP/comments.
    const stripped = mime === 'image/jpeg' && (meta.orientation ?? 1) === 1 ? stripJpegMetadata(bytes) : null;
    const out = input();
    const [{ thumbnail, placeholder }, clean] = await Promise.all([
      previewOf(input(), { animated }),
      stripped ?? (mime === 'image/png' ? out.png() : mime === 'image/webp' ? out.webp({ quality: 90 }) : mime === 'image/gif' ? out.gif() : out.jpeg({ quality: 90, mozjpeg: false })).toBuffer(),
    ]);
    return { clean, thumbnail, width, height, placeholder };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('media.corrupt', `the image cannot be read: ${(err as Error).message.slice(0, 200)}`);
  }
}

/**
 * The thumbnail (WebP, fits THUMB_MAX) and its ThumbHash: what a chat shows first (bench/media.mjs
 * times this). A still image is decoded once (JPEG shrink-on-load) to pixels, and the WebP and the
 * ThumbHash are both made from those pixels, at the same time.
 */
export async function previewOf(img: Sharp, opts: { animated?: boolean } = {}): Promise<{ thumbnail: Buffer; placeholder: string }> {
  const sharp = (await import('sharp')).default;
  const fit = img.resize(THUMB_MAX, THUMB_MAX, { fit: 'inside', withoutEnlargement: true });
  if (opts.animated) {
    const thumbnail = await fit.webp({ quality: 72 }).toBuffer();
    return { thumbnail, placeholder: await thumbHashOf(sharp(thumbnail)) };
  }
  const { data, info } = await fit.raw().toBuffer({ resolveWithObject: true });
  const pixels = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const [thumbnail, placeholder] = await Promise.all([pixels().webp({ quality: 72 }).toBuffer(), thumbHashOf(pixels())]);
  return { thumbnail, placeholder };
}

async function thumbHashOf(img: Sharp): Promise<string> {
  // ThumbHash takes up to 100x100 RGBA, but its encoder is synchronous JS whose cost grows with the
  // pixel count: 100x75 held the event loop ~17 ms (46 ms cold) per image, 32x24 takes 0.2 ms and
  // gives the same low-frequency hash (a decoded placeholder differs by at most 9/255 per channel).
  // Grey (+alpha) pixels are widened to RGBA here.
  const { data, info } = await img.resize(THUMBHASH_MAX, THUMBHASH_MAX, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
  const c = info.channels;
  let rgba: Uint8Array = data;
  if (c !== 4) {
    rgba = new Uint8Array(info.width * info.height * 4);
    for (let p = 0, q = 0; q < rgba.length; p += c, q += 4) {
      const [r, g, b] = c >= 3 ? [data[p]!, data[p + 1]!, data[p + 2]!] : [data[p]!, data[p]!, data[p]!];
      rgba[q] = r;
      rgba[q + 1] = g;
      rgba[q + 2] = b;
      rgba[q + 3] = c === 2 ? data[p + 1]! : 255;
    }
  }
  return Buffer.from(rgbaToThumbHash(info.width, info.height, rgba)).toString('base64');
}

/** APP1 (EXIF, XMP), APP3-APP13 (IPTC, Photoshop, maker data), APP15 and comments. JFIF, ICC (APP2) and Adobe (APP14) stay: decoders need them. */
const isMetadataMarker = (m: number) => m === 0xe1 || (m >= 0xe3 && m <= 0xed) || m === 0xef || m === 0xfe;

/**
 * The JPEG without its metadata segments, the compressed image data untouched, and nothing after
 * the end-of-image marker (phones append videos and maker data there). Only marker headers and the
 * 0xFF bytes of the scan are visited (indexOf), so a 5 MB photo takes well under a millisecond.
 * null when the file is not laid out as expected (metadata between scans, no end marker): the
 * caller re-encodes instead.
 */
export function stripJpegMetadata(b: Buffer): Buffer | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  const parts: Buffer[] = [b.subarray(0, 2)];
  let i = 2;
  // Header segments up to the first scan.
  for (;;) {
    if (i + 4 > b.length || b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xda) break;
    if (m === 0xd8 || m === 0xd9 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) return null;
    const len = b.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > b.length) return null;
    if (!isMetadataMarker(m)) parts.push(b.subarray(i, i + 2 + len));
    i += 2 + len;
  }
  // Scans: entropy-coded data (0xFF is stuffed as FF00; FFD0-D7 are restarts) and, in progressive
  // files, the tables and scan headers between scans, up to the end-of-image marker.
  const start = i;
  let j = i;
  for (;;) {
    j = b.indexOf(0xff, j);
    if (j < 0 || j + 1 >= b.length) return null;
    const m = b[j + 1]!;
    if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) {
      j += m === 0xff ? 1 : 2;
      continue;
    }
    if (m === 0xd9) {
      parts.push(b.subarray(start, j + 2));
      return Buffer.concat(parts);
    }
    if (isMetadataMarker(m) || j + 4 > b.length) return null;
    j += 2 + b.readUInt16BE(j + 2);
  }
}
