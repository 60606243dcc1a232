import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { LanguageSwitch, useI18n } from './i18n/i18n.tsx';
import { SignIn } from './auth/SignIn.tsx';
import { fetchAuthConfig, hostSession, loadSession, onHostToken, saveSession, takeUrlToken, tokenSource, type Session } from './auth/session.ts';
import { Avatar } from './chat/Avatar.tsx';
import { ConversationList } from './chat/ConversationList.tsx';
import { ConversationView } from './chat/ConversationView.tsx';
import { NewChatDialog } from './chat/dialogs.tsx';
import { CustomerSupport, OperatorConsole } from './support/Support.tsx';
import { CallHistory } from './calls/CallHistory.tsx';
import { CallProvider } from './calls/CallProvider.tsx';
import { NotificationSettings } from './notify/NotificationSettings.tsx';
import { PrivacySettings } from './privacy/PrivacySettings.tsx';
import { useNotifyActive } from './notify/active.ts';
import { Icon } from './ui/Dialog.tsx';
import { ToastProvider } from './ui/Toast.tsx';
import { ChatProvider, createChatClient, useConnection, useOutboxItems } from './sdk.ts';
import { ReportsPage } from './safety/Reports.tsx';
import { useSafetyWarnings } from './safety/warnings.ts';

/** Signed out: the sign-in page. Signed in: the chat, with one SDK client per session. */
export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const fromUrl = takeUrlToken();
    const s = fromUrl ? hostSession(fromUrl) : loadSession();
    if (s) saveSession(s);
    return s;
  });
  const [devLogin, setDevLogin] = useState<boolean | null>(null);

  useEffect(() => {
    void fetchAuthConfig().then((c) => setDevLogin(c.devLogin));
    return onHostToken((token) => {
      const s = hostSession(token);
      if (!s) return;
      saveSession(s);
      // A new token for the same user only refreshes; another user starts a new session.
      setSession((cur) => (cur && cur.userId === s.userId ? cur : s));
    });
  }, []);

  const start = useCallback((s: Session) => {
    saveSession(s);
    setSession(s);
  }, []);

  const signOut = useCallback(() => {
    saveSession(null);
    setSession(null);
  }, []);

  return <ToastProvider>{session ? <Chat key={session.userId} session={session} onSignOut={signOut} /> : <SignIn devLogin={devLogin} onSession={start} />}</ToastProvider>;
}

function parseHash(): { id: string | null; seq?: number; support?: boolean; calls?: boolean; notify?: boolean; reports?: boolean } {
  if (location.hash.startsWith('#/support')) return { id: null, support: true };
  if (location.hash.startsWith('#/calls')) return { id: null, calls: true };
  if (location.hash.startsWith('#/notifications')) return { id: null, notify: true };
  if (location.hash.startsWith('#/reports')) return { id: null, reports: true };
  const m = /^#\/c\/([^/?]+)(?:\/(\d+))?/.exec(location.hash);
  return m ? { id: decodeURIComponent(m[1]!), seq: m[2] ? Number(m[2]) : undefined } : { id: null };
}

function Chat({ session, onSignOut }: { session: Session; onSignOut(): void }) {
  const current = useRef(session);
  const client = useMemo(
    () =>
      createChatClient(
        tokenSource(
          () => current.current,
          (s) => {
            current.current = s;
            saveSession(s);
          },
        ),
        session.userId,
      ),
    // One client per signed-in user (the component is keyed by user id).
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  useEffect(() => {
    void client.connect();
    return () => client.disconnect();
  }, [client]);
  return (
    <ChatProvider client={client}>
      <CallProvider myId={session.userId}>
        <ChatLayout session={session} onSignOut={onSignOut} />
      </CallProvider>
    </ChatProvider>
  );
}

function ChatLayout({ session, onSignOut }: { session: Session; onSignOut(): void }) {
  const { t } = useI18n();
  const [route, setRoute] = useState(parseHash);
  const [newChat, setNewChat] = useState(false);

  useEffect(() => {
    const on = () => setRoute(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  const isOperator = session.roles.includes('operator');
  const openSupport = useCallback(() => {
    if (location.hash !== '#/support') location.hash = '#/support';
    setRoute({ id: null, support: true });
  }, []);

  const openCalls = useCallback(() => {
    if (location.hash !== '#/calls') location.hash = '#/calls';
    setRoute({ id: null, calls: true });
  }, []);

  const select = useCallback((id: string | null, seq?: number) => {
    const hash = id ? `#/c/${encodeURIComponent(id)}${seq ? `/${seq}` : ''}` : '#/';
    if (location.hash !== hash) location.hash = hash;
    setRoute({ id, seq });
  }, []);
  const openNotify = useCallback(() => {
    if (location.hash !== '#/notifications') location.hash = '#/notifications';
    setRoute({ id: null, notify: true });
  }, []);
  useNotifyActive(route.id, select);
  useSafetyWarnings();
  const isModerator = session.roles.includes('admin') || session.roles.includes('moderator');
  const openReports = () => {
    if (location.hash !== '#/reports') location.hash = '#/reports';
    setRoute({ id: null, reports: true });
  };

  return (
    <div className={route.id || route.support || route.calls || route.notify || route.reports ? 'layout has-selection' : 'layout'}>
      <aside className="sidebar">
        <header className="me-bar">
          <Avatar name={session.name} id={session.userId} size={36} />
          <div className="me-text">
            <strong data-testid="me-name">{session.name}</strong>
            <span className="muted">@{session.userId}</span>
          </div>
          <button
            type="button"
            className={route.support ? 'support-btn active' : 'support-btn'}
            onClick={openSupport}
            aria-label={isOperator ? t('support.console') : t('support.title')}
            aria-current={route.support ? 'page' : undefined}
            data-testid="support-open"
          >
            {t('support.open')}
          </button>
          {isModerator && (
            <button type="button" className={route.reports ? 'support-btn active' : 'support-btn'} onClick={openReports} aria-current={route.reports ? 'page' : undefined} data-testid="reports-open">
              {t('safety.open')}
            </button>
          )}
          <button type="button" className={route.notify ? 'icon-btn active' : 'icon-btn'} onClick={openNotify} aria-label={t('notify.open')} title={t('notify.open')} data-testid="notify-open">
            <Icon name="bell" />
          </button>
          <LanguageSwitch />
          <button type="button" className="icon-btn" onClick={onSignOut} aria-label={t('signin.signOut')} title={t('signin.signOut')} data-testid="sign-out">
            <Icon name="back" />
          </button>
        </header>
        <StatusBanner />
        <ConversationList myId={session.userId} selectedId={route.id} onSelect={(id, seq) => select(id, seq)} onNewChat={() => setNewChat(true)} onOpenCalls={openCalls} />
      </aside>
      <main className="main">
        {route.reports && isModerator ? (
          <ReportsPage onClose={() => select(null)} />
        ) : route.calls ? (
          <CallHistory myId={session.userId} onOpen={(id) => select(id)} onClose={() => select(null)} />
        ) : route.notify ? (
          <div className="settings-stack">
            <NotificationSettings onClose={() => select(null)} />
            <PrivacySettings onDeleted={onSignOut} />
          </div>
        ) : route.support ? (
          isOperator ? (
            <OperatorConsole myId={session.userId} supervisor={session.roles.includes('admin')} onClose={() => select(null)} />
          ) : (
            <CustomerSupport myId={session.userId} onClose={() => select(null)} />
          )
        ) : route.id ? (
          <ConversationView key={route.id} conversationId={route.id} focusSeq={route.seq} myId={session.userId} onBack={() => select(null)} />
        ) : (
          <div className="empty-pane">
            <img src="/favicon.svg" alt="" width={64} height={64} />
            <p>{t('conv.select')}</p>
          </div>
        )}
      </main>
      {newChat && (
        <NewChatDialog
          myId={session.userId}
          onClose={() => setNewChat(false)}
          onOpened={(id) => {
            setNewChat(false);
            select(id);
          }}
        />
      )}
    </div>
  );
}

/** Offline / connecting banner, with the number of messages waiting in the outbox. */
function StatusBanner() {
  const { t } = useI18n();
  const status = useConnection();
  const outbox = useOutboxItems();
  const waiting = outbox.length;
  if (status === 'online' && waiting === 0) return null;
  return (
    <div className={status === 'offline' ? 'banner offline' : 'banner'} role="status" data-testid="status-banner" data-status={status}>
      {status === 'offline' ? t('status.offline') : status === 'connecting' ? t('status.connecting') : null}
      {waiting > 0 && <span className="banner-sub">{t('status.outbox', { count: waiting })}</span>}
    </div>
  );
}
