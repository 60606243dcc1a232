import type { DeviceDTO, PreferencesDTO } from '@sohbet/protocol';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { useChatClient } from '../sdk.ts';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { browserPushSupport, enableBrowserPush } from './webpush.ts';

const CHANNELS = ['push', 'email', 'sms'] as const;
const KINDS = ['message', 'call', 'missed_call', 'support'] as const;
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const minutes = (s: string) => {
  const [h, m] = s.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Notification settings: channels, kinds, quiet hours, language, contact points, this browser's push and the devices. */
export function NotificationSettings({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [prefs, setPrefs] = useState<PreferencesDTO | null>(null);
  const [devices, setDevices] = useState<DeviceDTO[]>([]);
  const [saving, setSaving] = useState(false);
  const support = browserPushSupport();

  const reload = useCallback(async () => {
    const [p, d] = await Promise.all([client.notifications.preferences(), client.notifications.devices()]);
    setPrefs(p);
    setDevices(d);
  }, [client]);
  useEffect(() => {
    void reload().catch((e: { code?: string }) => toast(t('common.error', { code: e.code ?? '?' }), 'error'));
  }, [reload, toast, t]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!prefs) return;
    setSaving(true);
    try {
      setPrefs(await client.notifications.setPreferences({ ...prefs, email: prefs.email || null, phone: prefs.phone || null }));
      toast(t('notify.saved'));
    } catch (err) {
      toast(t('common.error', { code: (err as { code?: string }).code ?? '?' }), 'error');
    } finally {
      setSaving(false);
    }
  };

  const enablePush = async () => {
    const r = await enableBrowserPush(client).catch((err: { code?: string; message?: string }) => ({ ok: false as const, reason: err.code ?? err.message ?? '?' }));
    if (r.ok) {
      toast(t('notify.browser.enabled'));
      await reload();
    } else toast(t(`notify.browser.${r.reason === 'denied' || r.reason === 'no_key' ? r.reason : 'failed'}` as MessageKey, { code: r.reason }), 'error');
  };

  return (
    <div className="support-pane notify-settings" data-testid="notify-settings">
      <header className="support-head">
        <button type="button" className="icon-btn" onClick={onClose} aria-label={t('common.close')}>
          <Icon name="back" />
        </button>
        <h2>{t('notify.title')}</h2>
      </header>
      {!prefs ? (
        <p className="muted support-body">{t('common.loading')}</p>
      ) : (
        <form className="support-body notify-form" onSubmit={save}>
          <fieldset>
            <legend>{t('notify.channels')}</legend>
            {CHANNELS.map((c) => (
              <label key={c} className="check">
                <input type="checkbox" checked={prefs.channels[c]} onChange={(e) => setPrefs({ ...prefs, channels: { ...prefs.channels, [c]: e.target.checked } })} data-testid={`notify-channel-${c}`} />
                {t(`notify.channel.${c}` as MessageKey)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{t('notify.kinds')}</legend>
            {KINDS.map((k) => (
              <label key={k} className="check">
                <input type="checkbox" checked={prefs.kinds[k]} onChange={(e) => setPrefs({ ...prefs, kinds: { ...prefs.kinds, [k]: e.target.checked } })} data-testid={`notify-kind-${k}`} />
                {t(`notify.kind.${k}` as MessageKey)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{t('notify.quiet')}</legend>
            <p className="muted">{t('notify.quietHint')}</p>
            <label className="field inline">
              <span>{t('notify.quietFrom')}</span>
              <input type="time" value={hhmm(prefs.quietHours.start)} onChange={(e) => setPrefs({ ...prefs, quietHours: { ...prefs.quietHours, start: minutes(e.target.value) } })} data-testid="notify-quiet-start" />
            </label>
            <label className="field inline">
              <span>{t('notify.quietTo')}</span>
              <input type="time" value={hhmm(prefs.quietHours.end)} onChange={(e) => setPrefs({ ...prefs, quietHours: { ...prefs.quietHours, end: minutes(e.target.value) } })} data-testid="notify-quiet-end" />
            </label>
          </fieldset>
          <label className="field">
            <span>{t('notify.language')}</span>
            <select value={prefs.locale} onChange={(e) => setPrefs({ ...prefs, locale: e.target.value as PreferencesDTO['locale'] })} data-testid="notify-locale">
              <option value="az">{t('lang.az')}</option>
              <option value="en">{t('lang.en')}</option>
            </select>
          </label>
          <label className="field">
            <span>{t('notify.email')}</span>
            <input type="email" value={prefs.email ?? ''} onChange={(e) => setPrefs({ ...prefs, email: e.target.value })} data-testid="notify-email" />
          </label>
          <label className="field">
            <span>{t('notify.phone')}</span>
            <input type="tel" placeholder="+994501234567" value={prefs.phone ?? ''} onChange={(e) => setPrefs({ ...prefs, phone: e.target.value })} data-testid="notify-phone" />
          </label>
          <button type="submit" className="primary" disabled={saving} data-testid="notify-save">
            {t('notify.save')}
          </button>

          <h3>{t('notify.browser')}</h3>
          {support ? (
            <button type="button" onClick={() => void enablePush()} data-testid="notify-browser-enable">
              {t('notify.browser.enable')}
            </button>
          ) : (
            <p className="muted" data-testid="notify-browser-unsupported">
              {t('notify.browser.unsupported')}
            </p>
          )}
          <h3>{t('notify.devices')}</h3>
          {devices.length === 0 ? (
            <p className="muted">{t('notify.devicesNone')}</p>
          ) : (
            <ul className="support-list" data-testid="notify-devices">
              {devices.map((d) => (
                <li key={d.id} className="device-row">
                  <span>
                    <strong>{t(`notify.device.${d.kind}` as MessageKey)}</strong> <span className="muted">{d.label}</span>
                  </span>
                  <button type="button" className="link-btn" onClick={() => void client.notifications.unregisterDevice(d.id).then(reload)}>
                    {t('notify.remove')}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </form>
      )}
    </div>
  );
}
