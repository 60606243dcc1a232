import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { formatDuration } from './uploads.ts';

/** Opus first (Chromium, Firefox: WebM; Safari: MP4/AAC is what it has). */
const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4'];

/**
 * Hold-free voice recording: tap the mic, speak (a live level meter shows the input), tap send or
 * cancel. Recorded with MediaRecorder; the server reads the real duration from the file.
 */
export function VoiceRecorder({ onRecorded, disabled }: { onRecorded(blob: Blob, name: string): void; disabled?: boolean }) {
  const { t } = useI18n();
  const toast = useToast();
  const [rec, setRec] = useState<{ started: number } | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [level, setLevel] = useState(0);
  const parts = useRef<{ recorder: MediaRecorder; stream: MediaStream; ctx: AudioContext; raf: number; send: boolean } | null>(null);

  useEffect(() => () => stop(false), []);

  async function begin() {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      toast(t('media.micDenied'), 'error');
      return;
    }
    const mimeType = TYPES.find((x) => typeof MediaRecorder.isTypeSupported === 'function' && MediaRecorder.isTypeSupported(x));
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    recorder.onstop = () => {
      const p = parts.current;
      parts.current = null;
      if (p?.send && chunks.length) {
        const type = (recorder.mimeType || 'audio/webm').split(';')[0]!;
        onRecorded(new Blob(chunks, { type }), `voice-${new Date().toISOString().replace(/[:.]/g, '-')}.${type.includes('mp4') ? 'm4a' : type.includes('ogg') ? 'ogg' : 'webm'}`);
      }
    };
    // Level meter: RMS of the microphone signal, redrawn every frame.
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const started = Date.now();
    const tick = () => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      setLevel(Math.min(1, Math.sqrt(sum / buf.length) * 4));
      setElapsed(Date.now() - started);
      if (parts.current) parts.current.raf = requestAnimationFrame(tick);
    };
    parts.current = { recorder, stream, ctx, raf: 0, send: false };
    recorder.start(250);
    setRec({ started });
    parts.current.raf = requestAnimationFrame(tick);
  }

  function stop(send: boolean) {
    const p = parts.current;
    if (!p) return;
    p.send = send;
    cancelAnimationFrame(p.raf);
    if (p.recorder.state !== 'inactive') p.recorder.stop();
    for (const tr of p.stream.getTracks()) tr.stop();
    void p.ctx.close().catch(() => {});
    setRec(null);
    setLevel(0);
    setElapsed(0);
  }

  if (!rec) {
    return (
      <button type="button" className="icon-btn" aria-label={t('media.record')} title={t('media.record')} disabled={disabled || typeof MediaRecorder === 'undefined'} onClick={() => void begin()} data-testid="record">
        <Icon name="mic" />
      </button>
    );
  }
  return (
    <div className="recorder" role="group" aria-label={t('media.recording')} data-testid="recorder">
      <button type="button" className="icon-btn" aria-label={t('media.cancelRecording')} onClick={() => stop(false)} data-testid="record-cancel">
        <Icon name="close" size={18} />
      </button>
      <span className="rec-dot" aria-hidden="true" />
      <span className="rec-time" aria-live="off">{formatDuration(elapsed)}</span>
      <span className="level" role="meter" aria-label={t('media.level')} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(level * 100)} data-testid="level">
        <span style={{ width: `${Math.round(level * 100)}%` }} />
      </span>
      <button type="button" className="send-btn" aria-label={t('media.stopAndSend')} onClick={() => stop(true)} data-testid="record-send">
        <Icon name="send" />
      </button>
    </div>
  );
}
