import type { Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { AppError } from '../core/errors.ts';

/** Thumbnails fit in this box; big enough for a grid cell on a phone at 2x. */
export const THUMB_MAX = 480;
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
    const { thumbnail, placeholder } = await previewOf(input());
    // sharp writes no metadata unless asked (withMetadata), so re-encoding drops EXIF/GPS/XMP/ICC comments.
    const out = input();
    const clean = await (mime === 'image/png' ? out.png() : mime === 'image/webp' ? out.webp({ quality: 90 }) : mime === 'image/gif' ? out.gif() : out.jpeg({ quality: 90, mozjpeg: false })).toBuffer();
    return { clean, thumbnail, width, height, placeholder };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('media.corrupt', `the image cannot be read: ${(err as Error).message.slice(0, 200)}`);
  }
}

/** The thumbnail (WebP, fits THUMB_MAX) and its ThumbHash: what a chat shows first (bench/media.mjs times this). */
export async function previewOf(img: Sharp): Promise<{ thumbnail: Buffer; placeholder: string }> {
  const thumbnail = await img.resize(THUMB_MAX, THUMB_MAX, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 72 }).toBuffer();
  return { thumbnail, placeholder: await thumbHashOf(thumbnail) };
}

async function thumbHashOf(img: Buffer): Promise<string> {
  const sharp = (await import('sharp')).default;
  // ThumbHash wants at most 100x100 RGBA.
  const { data, info } = await sharp(img).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}
