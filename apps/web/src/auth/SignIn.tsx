import { useEffect, useState, type FormEvent } from 'react';
import { LanguageSwitch, useI18n } from '../i18n/i18n.tsx';
import { Avatar } from '../chat/Avatar.tsx';
import { ApiError, DEMO_USERS, demoLogin, type Session } from './session.ts';

/**
 * The sign-in page. With the demo sign-in on, pick a seeded user or create one; otherwise it waits
 * for the host app to pass a token (`?token=` or postMessage, see README).
 */
export function SignIn({ devLogin, onSession }: { devLogin: boolean | null; onSession(s: Session): void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [userId, setUserId] = useState('');
  const [name, setName] = useState('');

  useEffect(() => {
    document.getElementById('signin-title')?.focus();
  }, []);

  async function login(u: { userId: string; name?: string; roles?: string[] }) {
    setBusy(u.userId);
    setError(null);
    try {
      onSession(await demoLogin(u));
    } catch (err) {
      setError(t('signin.failed', { code: err instanceof ApiError ? err.code : 'network' }));
      setBusy(null);
    }
  }

  function create(e: FormEvent) {
    e.preventDefault();
    const id = userId.trim();
    if (id) void login({ userId: id, name: name.trim() || undefined });
  }

  return (
    <main className="signin" aria-labelledby="signin-title">
      <div className="signin-card">
        <header className="signin-head">
          <div className="brand">
            <img src="/favicon.svg" alt="" width={40} height={40} />
            <div>
              <h1 id="signin-title" tabIndex={-1}>
                {t('app.name')}
              </h1>
              <p className="muted">{t('app.tagline')}</p>
            </div>
          </div>
          <LanguageSwitch />
        </header>
        <h2>{t('signin.title')}</h2>
        {devLogin === null && <p className="muted">{t('common.loading')}</p>}
        {devLogin === false && (
          <p className="notice" role="status">
            {t('signin.disabled')}
            <br />
            <span className="muted">{t('signin.waiting')}</span>
          </p>
        )}
        {devLogin && (
          <>
            <p className="muted">{t('signin.demoIntro')}</p>
            <ul className="demo-users" aria-label={t('signin.title')}>
              {DEMO_USERS.map((u) => (
                <li key={u.id}>
                  <button
                    type="button"
                    className="demo-user"
                    data-testid={`demo-user-${u.id}`}
                    disabled={busy !== null}
                    aria-label={t('signin.as', { name: u.name })}
                    onClick={() => void login({ userId: u.id, name: u.name, roles: u.roles })}
                  >
                    <Avatar name={u.name} id={u.id} size={44} />
                    <span className="demo-user-text">
                      <strong>{u.name}</strong>
                      <span className="muted">
                        {t(`role.${u.role}`)} · @{u.id}
                      </span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
            <form className="create-user" onSubmit={create}>
              <h3>{t('signin.createTitle')}</h3>
              <label>
                <span>{t('signin.userId')}</span>
                <input
                  value={userId}
                  onChange={(e) => setUserId(e.target.value)}
                  pattern="[A-Za-z0-9_.\-]{1,64}"
                  required
                  autoComplete="off"
                  aria-describedby="userid-hint"
                  data-testid="new-user-id"
                />
                <small id="userid-hint" className="muted">
                  {t('signin.userIdHint')}
                </small>
              </label>
              <label>
                <span>{t('signin.name')}</span>
                <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} autoComplete="name" data-testid="new-user-name" />
              </label>
              <button type="submit" className="primary" disabled={busy !== null}>
                {t('signin.create')}
              </button>
            </form>
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </main>
  );
}
