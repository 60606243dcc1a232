import { useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, useChatClient } from '../sdk.ts';

const REASONS = ['scam', 'spam', 'abuse', 'other'] as const;

/**
 * Reports one message (its sender is reported, with the messages around it as evidence) or a
 * user. Moderators review it on the Reports page; the host also gets a `user.reported` webhook.
 */
export function ReportDialog({ conversationId, messageId, userId, name, onClose, onReported }: {
  conversationId: string;
  messageId?: string;
  userId?: string;
  name: string;
  onClose(): void;
  onReported?(): void;
}) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [reason, setReason] = useState<(typeof REASONS)[number]>('scam');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await client.safety.report({ conversationId, messageId, userId: messageId ? undefined : userId, reason, note: note.trim() || undefined });
      toast(t('conv.reported'));
      onReported?.();
      onClose();
    } catch (err) {
      toast(t('common.error', { code: errorCode(err) }), 'error');
      setBusy(false);
    }
  }

  return (
    <Dialog title={messageId ? t('safety.reportMessage') : t('conv.report')} onClose={onClose} testId="report-dialog">
      <form onSubmit={submit} className="stack">
        <p className="muted">{messageId ? t('safety.reportMessageIntro', { name }) : t('safety.reportUserIntro', { name })}</p>
        <fieldset>
          <legend>{t('safety.reason')}</legend>
          {REASONS.map((r) => (
            <label key={r} className="check">
              <input type="radio" name="reason" value={r} checked={reason === r} onChange={() => setReason(r)} data-testid={`report-reason-${r}`} />
              {t(`safety.reason.${r}` as MessageKey)}
            </label>
          ))}
        </fieldset>
        <label>
          <span>{t('safety.note')}</span>
          <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} rows={3} data-testid="report-note" />
        </label>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary danger" disabled={busy} data-testid="report-submit">
            {t('conv.report')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
