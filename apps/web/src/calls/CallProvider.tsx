import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { CallDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, useChatClient, type CallSession } from '../sdk.ts';
import { CallScreen } from './CallScreen.tsx';
import { startRingtone } from './ringtone.ts';

interface CallsContextValue {
  /** The call on this device (outgoing or answered), if any. */
  session: CallSession | null;
  /** True while a start is on its way to the server ("Calling…"). */
  dialing: boolean;
  start(input: { conversationId: string; video: boolean; record?: boolean }): void;
}

const CallsContext = createContext<CallsContextValue>({ session: null, dialing: false, start: () => {} });
export const useCalls = () => useContext(CallsContext);

/**
 * Everything call-related above the chat: the incoming-call screen with its ringtone (every
 * device of the callee), the in-call screen, and the toasts for how a call ended.
 */
export function CallProvider({ myId, children }: { myId: string; children: ReactNode }) {
  const client = useChatClient();
  const { t } = useI18n();
  const toast = useToast();
  const [session, setSession] = useState<CallSession | null>(null);
  const [dialing, setDialing] = useState(false);
  const [incoming, setIncoming] = useState<CallDTO | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const sessionRef = useRef<CallSession | null>(null);
  sessionRef.current = session;

  const nameOf = useCallback(
    (id: string) => {
      if (!names[id]) void client.users.get([id]).then((u) => u[0] && setNames((n) => ({ ...n, [id]: u[0]!.name }))).catch(() => {});
      return names[id] ?? id;
    },
    [client, names],
  );

  useEffect(() => {
    const offs = [
      client.on('call.incoming', (c) => {
        if (!sessionRef.current) setIncoming(c);
      }),
      client.on('call', (c) => {
        setIncoming((cur) => {
          if (!cur || cur.id !== c.id || c.state === 'ringing') return cur;
          // Stopped ringing: answered here, answered elsewhere, cancelled or missed.
          if (c.state !== 'ended' && c.answeredByDevice !== client.calls.deviceId) toast(t('call.answeredElsewhere'));
          return null;
        });
      }),
      client.on('call.ended', (c) => {
        if (sessionRef.current?.call.id === c.id) toast(t(`call.ended.${c.endReason ?? 'completed'}` as 'call.ended.completed'));
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [client, t, toast]);

  useEffect(() => {
    if (!incoming) return;
    return startRingtone('incoming');
  }, [incoming]);

  const adopt = useCallback((s: CallSession) => {
    setSession(s);
    s.on('ended', () => setSession((cur) => (cur === s ? null : cur)));
  }, []);

  const start = useCallback(
    (input: { conversationId: string; video: boolean; record?: boolean }) => {
      if (sessionRef.current) return;
      setDialing(true);
      client.calls
        .start(input)
        .then((s) => {
          if (s.call.state === 'ended') toast(t(`call.ended.${s.call.endReason ?? 'failed'}` as 'call.ended.failed'));
          else adopt(s);
        })
        .catch((err) => toast(t('call.error', { code: errorCode(err) })))
        .finally(() => setDialing(false));
    },
    [adopt, client, t, toast],
  );

  const accept = useCallback(
    (c: CallDTO) => {
      setIncoming(null);
      client.calls.accept(c.id).then(adopt, (err) => toast(t('call.error', { code: errorCode(err) })));
    },
    [adopt, client, t, toast],
  );
  const decline = useCallback(
    (c: CallDTO) => {
      setIncoming(null);
      void client.calls.decline(c.id).catch(() => {});
    },
    [client],
  );

  const value = useMemo(() => ({ session, dialing, start }), [session, dialing, start]);
  const peerId = session ? (session.call.callerId === myId ? session.call.calleeId : session.call.callerId) : null;

  return (
    <CallsContext.Provider value={value}>
      {children}
      {incoming && !session && (
        <div className="call-incoming" role="alertdialog" aria-label={t(incoming.media === 'video' ? 'call.incomingVideo' : 'call.incomingAudio', { name: nameOf(incoming.callerId) })} data-testid="incoming-call">
          <Icon name={incoming.media === 'video' ? 'video' : 'phone'} size={28} />
          <p className="call-incoming-text">{t(incoming.media === 'video' ? 'call.incomingVideo' : 'call.incomingAudio', { name: nameOf(incoming.callerId) })}</p>
          <div className="call-incoming-actions">
            <button type="button" className="call-btn decline" onClick={() => decline(incoming)} data-testid="call-decline">
              <Icon name="hangup" /> {t('call.decline')}
            </button>
            <button type="button" className="call-btn accept" onClick={() => accept(incoming)} data-testid="call-accept">
              <Icon name={incoming.media === 'video' ? 'video' : 'phone'} /> {t('call.accept')}
            </button>
          </div>
        </div>
      )}
      {(session || dialing) && <CallScreen session={session} dialing={dialing} peerName={peerId ? nameOf(peerId) : ''} />}
    </CallsContext.Provider>
  );
}

/** The call buttons of a direct conversation's header. */
export function CallButtons({ conversationId, disabled }: { conversationId: string; disabled?: boolean }) {
  const { t } = useI18n();
  const { start, session, dialing } = useCalls();
  const busy = disabled || !!session || dialing;
  return (
    <>
      <button type="button" className="icon-btn" onClick={() => start({ conversationId, video: false })} disabled={busy} aria-label={t('call.audio')} title={t('call.audio')} data-testid="call-audio">
        <Icon name="phone" />
      </button>
      <button type="button" className="icon-btn" onClick={() => start({ conversationId, video: true })} disabled={busy} aria-label={t('call.video')} title={t('call.video')} data-testid="call-video">
        <Icon name="video" />
      </button>
    </>
  );
}
