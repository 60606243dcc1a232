import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processImage, stripJpegMetadata } from './media.image.ts';

async function photo(opts: { progressive?: boolean; orientation?: number } = {}) {
  const w = 640;
  const h = 480;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i >> 9)) & 0xff;
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 85, progressive: opts.progressive })
    .withExif({ IFD0: { Make: 'PhoneMaker', Model: 'Phone 15' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '40/1 24/1 0/1' } });
  return (opts.orientation ? img.withMetadata({ orientation: opts.orientation }) : img).toBuffer();
}

/** A comment segment put right after SOI, and data after the end marker (as motion photos carry a video). */
function withCommentAndTrailer(jpeg: Buffer): Buffer {
  const text = Buffer.from('secret comment');
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, text.length + 2]), text]);
  return Buffer.concat([jpeg.subarray(0, 2), com, jpeg.subarray(2), Buffer.from('ftypmp42 appended video bytes')]);
}

const pixels = async (b: Buffer) => (await sharp(b).raw().toBuffer()).toString('base64');

describe('removing JPEG metadata without re-encoding', () => {
  it.each([false, true])('drops EXIF/GPS, comments and trailing data and keeps the pixels bit for bit (progressive: %s)', async (progressive) => {
    const src = withCommentAndTrailer(await photo({ progressive }));
    const out = stripJpegMetadata(src)!;
    expect(out).not.toBeNull();
    expect((await sharp(out).metadata()).exif).toBeUndefined();
    for (const s of ['PhoneMaker', 'secret comment', 'appended video']) expect(out.includes(Buffer.from(s))).toBe(false);
    expect(await pixels(out)).toBe(await pixels(src));
    expect(out.length).toBeLessThan(src.length);
  });

  it('gives up (so the caller re-encodes) on a truncated file or something that is not a JPEG', async () => {
    const src = await photo();
    expect(stripJpegMetadata(src.subarray(0, Math.floor(src.length / 2)))).toBeNull();
    expect(stripJpegMetadata(Buffer.from('not a jpeg at all'))).toBeNull();
  });

  it('an upright photo keeps its pixels; a rotated one is turned upright, re-encoded and still loses its EXIF', async () => {
    const upright = await processImage(await photo(), 'image/jpeg');
    expect(upright).toMatchObject({ width: 640, height: 480 });
    expect(upright.clean.includes(Buffer.from('PhoneMaker'))).toBe(false);
    const turned = await processImage(await photo({ orientation: 6 }), 'image/jpeg');
    expect(turned).toMatchObject({ width: 480, height: 640 });
    const meta = await sharp(turned.clean).metadata();
    expect([meta.width, meta.height, meta.exif]).toEqual([480, 640, undefined]);
  });

  it('grey and transparent images get a thumbnail and a placeholder too', async () => {
    const grey = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 90, g: 90, b: 90 } } }).greyscale().png().toBuffer();
    const clear = await sharp({ create: { width: 200, height: 300, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.3 } } }).png().toBuffer();
    for (const png of [grey, clear]) {
      const p = await processImage(png, 'image/png');
      expect(p.placeholder).toMatch(/^[A-Za-z0-9+/=]{10,}$/);
      expect((await sharp(p.thumbnail).metadata()).format).toBe('webp');
    }
  });
});
