/** Real files made by the tests (sharp, ffmpeg), and broken ones made from them. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** A noisy picture (so JPEG has real content) of w x h. */
async function picture(w: number, h: number) {
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i += 3) {
    const x = (i / 3) % w;
    const y = Math.floor(i / 3 / w);
    raw[i] = (x * 255) / w;
    raw[i + 1] = (y * 255) / h;
    raw[i + 2] = (x ^ y) & 0xff;
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } });
}

export const png = async (w = 320, h = 200) => (await picture(w, h)).png().toBuffer();
export const webp = async (w = 300, h = 300) => (await picture(w, h)).webp().toBuffer();
/** A JPEG carrying EXIF with a GPS position and a camera model, as phones write them. */
export const jpegWithGps = async (w = 1200, h = 800) =>
  (await picture(w, h))
    .jpeg({ quality: 85 })
    .withExif({ IFD0: { Make: 'PhoneMaker', Model: 'Phone 15' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '40/1 24/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '49/1 52/1 0/1' } })
    .toBuffer();

function ffmpeg(args: string[], ext: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-fx-'));
  try {
    const out = path.join(dir, `out.${ext}`);
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args, out]);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opus in WebM, as Chromium's MediaRecorder writes it. */
export const opusWebm = (seconds: number) => ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:a', 'libopus', '-b:a', '24k'], 'webm');
/** AAC in M4A, as React Native / iOS record. */
export const aacM4a = (seconds: number) => ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`, '-c:a', 'aac', '-b:a', '32k'], 'm4a');

/** A small valid PDF with one page of text. */
export function pdf(): Buffer {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    '<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 50 Td (Qaime) Tj ET\nendstream',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A Windows executable's header: what someone renames to photo.png. */
export const exe = () => Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510, 0x90)]);

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
