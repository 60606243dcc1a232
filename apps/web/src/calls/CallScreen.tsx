import { useEffect, useReducer, useRef, useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, type CallSession } from '../sdk.ts';
import { formatDuration, startRingtone } from './ringtone.ts';

/** Re-renders whenever the session reports something (call record, streams, media state, quality). */
function useSessionTick(session: CallSession | null): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!session) return;
    const offs = (['call', 'localStream', 'remoteStream', 'remoteMedia', 'quality', 'ended'] as const).map((e) => session.on(e, () => bump()));
    return () => offs.forEach((off) => off());
  }, [session]);
}

function useElapsed(since: string | null | undefined): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!since) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [since]);
  return since ? Math.max(0, Math.floor((now - new Date(since).getTime()) / 1000)) : null;
}

function Video({ stream, muted, className, testId }: { stream: MediaStream | null; muted: boolean; className: string; testId: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  });
  return <video ref={ref} className={className} autoPlay playsInline muted={muted} data-testid={testId} />;
}

/** Bars 0..4 for the other side's connection (from their quality reports). */
function QualityBars({ bars }: { bars: number | null }) {
  const { t } = useI18n();
  if (bars === null) return null;
  return (
    <span className="call-bars" role="img" aria-label={t('call.quality', { bars })} title={t('call.quality', { bars })} data-testid="call-quality" data-bars={bars}>
      {[1, 2, 3, 4].map((i) => (
        <span key={i} className={i <= bars ? 'bar on' : 'bar'} style={{ height: `${4 + i * 3}px` }} />
      ))}
    </span>
  );
}

/** The outgoing "Calling…/Ringing…" screen and the in-call screen with its controls. */
export function CallScreen({ session, dialing, peerName }: { session: CallSession | null; dialing: boolean; peerName: string }) {
  const { t } = useI18n();
  const toast = useToast();
  useSessionTick(session);
  const call = session?.call ?? null;
  const elapsed = useElapsed(call?.state === 'active' ? (call.activeAt ?? call.acceptedAt) : null);
  const outgoingRing = !!session && session.isCaller && call?.state === 'ringing';
  useEffect(() => (outgoingRing ? startRingtone('outgoing') : undefined), [outgoingRing]);

  const fail = (err: unknown) => toast(t('call.error', { code: errorCode(err) }));
  let status = t('call.calling');
  if (call?.state === 'ringing') status = session?.isCaller ? t('call.ringing') : t('call.connecting');
  else if (call?.state === 'accepted') status = t('call.connecting');
  else if (call?.state === 'active' && elapsed !== null) status = formatDuration(elapsed);

  const video = call?.media === 'video';
  const remoteVideo = !!session?.remoteStream?.getVideoTracks().length && session.remoteMedia.video;
  return (
    <div className={video ? 'call-screen video' : 'call-screen'} role="dialog" aria-label={peerName} data-testid="call-screen" data-state={call?.state ?? 'dialing'}>
      <Video stream={session?.remoteStream ?? null} muted={false} className={remoteVideo ? 'call-remote' : 'call-remote hidden'} testId="call-remote" />
      {video && <Video stream={session?.localStream ?? null} muted className="call-local" testId="call-local" />}
      <div className="call-top">
        <strong className="call-peer">{peerName}</strong>
        <span className="call-status" data-testid="call-status">
          {status}
        </span>
        <QualityBars bars={session?.remoteBars ?? null} />
        {call?.recording && <span className="call-rec">{t('call.recording')}</span>}
        {session?.remoteMedia.screen && <span className="call-note">{t('call.peerSharing', { name: peerName })}</span>}
        {session && !session.remoteMedia.audio && <span className="call-note">{t('call.peerMuted', { name: peerName })}</span>}
        {session?.screenSharing && <span className="call-note" data-testid="call-sharing">{t('call.sharing')}</span>}
      </div>
      <div className="call-controls">
        <button
          type="button"
          className={session?.muted ? 'call-btn on' : 'call-btn'}
          disabled={!session}
          aria-pressed={!!session?.muted}
          onClick={() => session?.setMuted(!session.muted)}
          aria-label={session?.muted ? t('call.unmute') : t('call.mute')}
          data-testid="call-mute"
        >
          <Icon name={session?.muted ? 'mute' : 'mic'} />
        </button>
        {video ? (
          <button type="button" className={session?.cameraOff ? 'call-btn on' : 'call-btn'} disabled={!session} aria-pressed={!!session?.cameraOff} onClick={() => session?.setCamera(session.cameraOff)} aria-label={session?.cameraOff ? t('call.cameraOn') : t('call.cameraOff')} data-testid="call-camera">
            <Icon name="video" />
          </button>
        ) : (
          <button type="button" className="call-btn" disabled={call?.state !== 'active'} onClick={() => session?.upgradeToVideo().catch(fail)} aria-label={t('call.upgrade')} data-testid="call-upgrade">
            <Icon name="video" />
          </button>
        )}
        <button
          type="button"
          className={session?.screenSharing ? 'call-btn on' : 'call-btn'}
          disabled={call?.state !== 'active'}
          aria-pressed={!!session?.screenSharing}
          onClick={() => (session?.screenSharing ? session.stopScreenShare() : session?.startScreenShare())?.catch(fail)}
          aria-label={session?.screenSharing ? t('call.stopShare') : t('call.shareScreen')}
          data-testid="call-screen-share"
        >
          <Icon name="screen" />
        </button>
        <button type="button" className="call-btn hangup" disabled={!session} onClick={() => session?.hangup().catch(fail)} aria-label={t('call.hangup')} data-testid="call-hangup">
          <Icon name="hangup" />
        </button>
      </div>
    </div>
  );
}
