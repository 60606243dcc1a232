import { useEffect, useRef, useState } from 'react';
import type { AttachmentDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useChatClient } from '../sdk.ts';
import { formatDuration } from './uploads.ts';
import { useMediaUrl } from './useMediaUrl.ts';

const SPEEDS = [1, 1.5, 2];

/**
 * A voice message: play/pause, the waveform (click or arrow keys to seek), speed 1x/1.5x/2x and the
 * duration from the server. The first play by a listener marks it heard (like read).
 */
export function VoicePlayer({ a, conversationId, seq, mine }: { a: AttachmentDTO; conversationId: string; seq: number; mine: boolean }) {
  const { t } = useI18n();
  const client = useChatClient();
  const url = useMediaUrl(a.id);
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [pos, setPos] = useState(0);
  const [speed, setSpeed] = useState(1);
  const heardSent = useRef(false);
  const total = a.durationMs ?? 0;
  const peaks = a.waveform ?? new Array(32).fill(96);

  useEffect(() => {
    if (audio.current) audio.current.playbackRate = speed;
  }, [speed]);

  function toggle() {
    const el = audio.current;
    if (!el) return;
    if (el.paused) {
      void el.play().catch(() => {});
      if (!mine && !heardSent.current) {
        heardSent.current = true;
        void client.media.markHeard({ conversationId, seq }).catch(() => (heardSent.current = false));
      }
    } else el.pause();
  }

  function seek(fraction: number) {
    const el = audio.current;
    if (!el || !total) return;
    el.currentTime = Math.max(0, Math.min(1, fraction)) * (total / 1000);
    setPos(el.currentTime * 1000);
  }

  const progress = total ? Math.min(1, pos / total) : 0;
  return (
    <div className="voice" data-testid="voice">
      <button type="button" className="voice-play" aria-label={playing ? t('media.pause') : t('media.play')} onClick={toggle} disabled={!url} data-testid="voice-play" data-playing={playing}>
        <Icon name={playing ? 'pause' : 'play'} />
      </button>
      <div
        className="waveform"
        role="slider"
        tabIndex={0}
        aria-label={t('media.seek')}
        aria-valuemin={0}
        aria-valuemax={Math.round(total / 1000)}
        aria-valuenow={Math.round(pos / 1000)}
        aria-valuetext={`${formatDuration(pos)} / ${formatDuration(total)}`}
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          seek((e.clientX - r.left) / r.width);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowRight') seek(progress + 0.05);
          else if (e.key === 'ArrowLeft') seek(progress - 0.05);
        }}
        data-testid="waveform"
      >
        {peaks.map((p, i) => (
          <span key={i} className={i / peaks.length < progress ? 'bar played' : 'bar'} style={{ height: `${12 + (p / 255) * 88}%` }} />
        ))}
      </div>
      <span className="voice-time" data-testid="voice-duration">{formatDuration(playing || pos ? pos : total)}</span>
      <button type="button" className="voice-speed" aria-label={t('media.speed', { speed: String(speed) })} onClick={() => setSpeed(SPEEDS[(SPEEDS.indexOf(speed) + 1) % SPEEDS.length]!)} data-testid="voice-speed">
        {speed}×
      </button>
      {url && (
        <audio
          ref={audio}
          src={url}
          preload="metadata"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            setPos(0);
          }}
          onTimeUpdate={(e) => setPos(e.currentTarget.currentTime * 1000)}
        />
      )}
    </div>
  );
}
