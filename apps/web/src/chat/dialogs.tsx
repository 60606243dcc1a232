import { useState, type FormEvent } from 'react';
import type { ConversationDTO } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Dialog } from '../ui/Dialog.tsx';
import { errorCode, useChatClient, useConversationList } from '../sdk.ts';
import { Avatar } from './Avatar.tsx';
import { conversationName, peerOf } from './names.ts';

/** "New chat with a user": opens (or finds) the direct conversation with a user id. */
export function NewChatDialog({ myId, onClose, onOpened }: { myId: string; onClose(): void; onOpened(id: string): void }) {
  const { t } = useI18n();
  const client = useChatClient();
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const id = userId.trim();
    if (!id) return;
    if (id === myId) return setError(t('newChat.self'));
    setBusy(true);
    setError(null);
    try {
      const c: ConversationDTO = await client.chat.openDirect({ userId: id });
      onOpened(c.id);
    } catch (err) {
      const code = errorCode(err);
      setError(code === 'user.not_found' ? t('newChat.notFound') : code === 'chat.self_conversation' ? t('newChat.self') : t('common.error', { code }));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t('newChat.title')} onClose={onClose} testId="new-chat-dialog">
      <form onSubmit={submit} className="stack">
        <p className="muted">{t('newChat.intro')}</p>
        <label>
          <span>{t('newChat.userId')}</span>
          <input autoFocus value={userId} onChange={(e) => setUserId(e.target.value)} required maxLength={128} autoComplete="off" data-testid="new-chat-user" aria-invalid={!!error} aria-describedby={error ? 'new-chat-error' : undefined} />
        </label>
        {error && (
          <p id="new-chat-error" className="error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="new-chat-start">
            {t('newChat.start')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Picks the conversation to forward a message to. */
export function ForwardDialog({ myId, onClose, onPick }: { myId: string; onClose(): void; onPick(conversationId: string): void }) {
  const { t } = useI18n();
  const { conversations } = useConversationList();
  return (
    <Dialog title={t('forward.title')} onClose={onClose} testId="forward-dialog">
      <p className="muted">{t('forward.intro')}</p>
      <ul className="pick-list">
        {conversations
          .filter((c) => !c.blocked)
          .map((c) => {
            const name = conversationName(c, myId, t);
            return (
              <li key={c.id}>
                <button type="button" className="pick-row" onClick={() => onPick(c.id)}>
                  <Avatar name={name} id={peerOf(c, myId)?.userId ?? c.id} size={36} />
                  <span>
                    {name}
                    {c.context && <small className="muted"> · {c.context.title}</small>}
                  </span>
                </button>
              </li>
            );
          })}
      </ul>
    </Dialog>
  );
}

/** A yes/no question. */
export function ConfirmDialog({ text, confirmLabel, onConfirm, onClose }: { text: string; confirmLabel: string; onConfirm(): void; onClose(): void }) {
  const { t } = useI18n();
  return (
    <Dialog title={confirmLabel} onClose={onClose} testId="confirm-dialog">
      <p>{text}</p>
      <div className="dialog-actions">
        <button type="button" onClick={onClose} autoFocus>
          {t('common.cancel')}
        </button>
        <button
          type="button"
          className="primary danger"
          data-testid="confirm"
          onClick={() => {
            onConfirm();
            onClose();
          }}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
