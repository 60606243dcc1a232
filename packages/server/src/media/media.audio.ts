import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MEDIA_LIMITS } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { peaks } from './media.domain.ts';

const RATE = 8000;

export interface ProcessedAudio {
  durationMs: number;
  waveform: number[] | null;
}

/** Whether ffmpeg is on PATH (checked at boot without blocking it; the server logs the answer). */
export function ffmpegAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('ffmpeg', ['-version'], { stdio: 'ignore' });
    p.once('error', () => resolve(false));
    p.once('close', (code) => resolve(code === 0));
  });
}

/**
 * Duration and waveform from the file itself. With ffmpeg the audio is decoded to 8 kHz mono PCM:
 * the sample count is the true duration (MediaRecorder's WebM carries none in its header), and any
 * decode error (truncated, corrupt) fails the upload. Without ffmpeg the container's own duration
 * is read (music-metadata) and no waveform is drawn.
 */
export async function processAudio(bytes: Buffer, opts: { ffmpeg: boolean | Promise<boolean> }): Promise<ProcessedAudio> {
  if (!(await opts.ffmpeg)) return containerDuration(bytes);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sohbet-audio-'));
  try {
    // A file, not a pipe: MP4/M4A keep their index at the end and need seeking.
    const file = path.join(dir, 'in');
    await writeFile(file, bytes);
    const pcm = await decode(file);
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
    if (samples.length === 0) throw new AppError('media.corrupt', 'the recording holds no audio');
    return { durationMs: Math.round((samples.length / RATE) * 1000), waveform: peaks(samples, MEDIA_LIMITS.waveformPeaks) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function decode(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-xerror', '-i', file, '-vn', '-f', 's16le', '-ac', '1', '-ar', String(RATE), 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0 || err.trim()) reject(new AppError('media.corrupt', `the recording cannot be decoded${err ? `: ${err.trim().split('\n')[0]!.slice(0, 160)}` : ''}`));
      else resolve(Buffer.concat(out));
    });
  });
}

async function containerDuration(bytes: Buffer): Promise<ProcessedAudio> {
  const { parseBuffer } = await import('music-metadata');
  try {
    const meta = await parseBuffer(bytes, undefined, { duration: true, skipCovers: true });
    const d = meta.format.duration;
    if (!d || !Number.isFinite(d)) throw new AppError('media.corrupt', 'the recording has no readable duration');
    return { durationMs: Math.round(d * 1000), waveform: null };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('media.corrupt', 'the recording cannot be read');
  }
}
