/**
 * A ringtone from the WebAudio API (no audio file to ship): two short tones every two seconds.
 * Browsers may block audio until the page had a user gesture; then the ring is silent but the
 * incoming-call screen still shows.
 */
export function startRingtone(kind: 'incoming' | 'outgoing'): () => void {
  const Ctx = (window as { AudioContext?: typeof AudioContext }).AudioContext;
  if (!Ctx) return () => {};
  let ctx: AudioContext | null = null;
  try {
    ctx = new Ctx();
  } catch {
    return () => {};
  }
  const audio = ctx;
  const freq = kind === 'incoming' ? [880, 660] : [440, 440];
  const ring = () => {
    const t = audio.currentTime;
    freq.forEach((f, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0, t + i * 0.4);
      gain.gain.linearRampToValueAtTime(kind === 'incoming' ? 0.15 : 0.06, t + i * 0.4 + 0.02);
      gain.gain.linearRampToValueAtTime(0, t + i * 0.4 + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.4);
      osc.stop(t + i * 0.4 + 0.4);
    });
  };
  ring();
  const timer = setInterval(ring, 2000);
  return () => {
    clearInterval(timer);
    void audio.close().catch(() => {});
  };
}

/** "3:12" / "1:02:05" */
export function formatDuration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = String(sec % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
