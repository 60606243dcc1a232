import { useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { useChatClient } from '../sdk.ts';
import { useToast } from '../ui/Toast.tsx';

/** Privacy in the settings pane: download my data, delete my account. */
export function PrivacySettings({ onDeleted }: { onDeleted(): void }) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [busy, setBusy] = useState(false);

  const fail = (err: unknown) => toast(t('common.error', { code: (err as { code?: string }).code ?? '?' }), 'error');

  const download = async () => {
    setBusy(true);
    try {
      const { blob, filename } = await client.account.exportBlob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      toast(t('privacy.exported'));
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    const typed = window.prompt(t('privacy.delete.confirm'));
    if (typed?.trim().toUpperCase() !== t('privacy.delete.word').toUpperCase()) return;
    setBusy(true);
    try {
      await client.account.delete();
      toast(t('privacy.deleted'));
      onDeleted();
    } catch (err) {
      fail(err);
      setBusy(false);
    }
  };

  return (
    <section className="privacy-settings" data-testid="privacy-settings">
      <h3>{t('privacy.title')}</h3>
      <button type="button" onClick={() => void download()} disabled={busy} data-testid="privacy-export">
        {t('privacy.export')}
      </button>{' '}
      <button type="button" className="danger" onClick={() => void remove()} disabled={busy} data-testid="privacy-delete">
        {t('privacy.delete')}
      </button>
    </section>
  );
}
