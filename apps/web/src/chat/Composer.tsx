import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { LIMITS } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { useToast } from '../ui/Toast.tsx';
import { errorCode, useChatClient, type UiMessage } from '../sdk.ts';
import { loadDraft, saveDraft } from './drafts.ts';
import { AttachButton, UploadTray } from '../media/AttachButton.tsx';
import { mediaErrorText, useUploads } from '../media/uploads.ts';
import { VoiceRecorder } from '../media/VoiceRecorder.tsx';

interface Props {
  conversationId: string;
  myId: string;
  replyTo: { m: UiMessage; name: string } | null;
  editing: UiMessage | null;
  disabled: boolean;
  insertText?: { text: string; n: number } | null;
  onSent(): void;
  onCancel(): void;
}

const TYPING_EVERY_MS = 3000;

/**
 * Multi-line composer: Enter sends, Shift+Enter adds a line, the draft is kept per conversation.
 * Sending is optimistic: the SDK shows the message at once and its outbox delivers it (also after
 * going offline); here we only clear the field.
 */
export function Composer({ conversationId, myId, replyTo, editing, disabled, insertText, onSent, onCancel }: Props) {
  const { t } = useI18n();
  const client = useChatClient();
  const toast = useToast();
  const [text, setText] = useState(() => loadDraft(myId, conversationId));
  const area = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const draftBeforeEdit = useRef<string | null>(null);
  const uploads = useUploads(conversationId);
  const [dragging, setDragging] = useState(false);

  // A new conversation: its own draft.
  useEffect(() => {
    setText(loadDraft(myId, conversationId));
    lastTyping.current = 0;
  }, [conversationId, myId]);

  useEffect(() => {
    if (editing) {
      draftBeforeEdit.current = text;
      setText(editing.text ?? '');
      area.current?.focus();
    } else if (draftBeforeEdit.current !== null) {
      setText(draftBeforeEdit.current);
      draftBeforeEdit.current = null;
    }
    // Only when edit mode toggles.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editing]);

  useEffect(() => {
    if (replyTo) area.current?.focus();
  }, [replyTo]);

  // Inserted text (a canned response) joins the draft, and the operator can edit it before sending.
  const insertedN = useRef(insertText?.n); // what was there at mount is not new
  useEffect(() => {
    if (!insertText || insertText.n === insertedN.current) return;
    insertedN.current = insertText.n;
    setText((cur) => (cur.trim() ? `${cur.trimEnd()} ${insertText.text}` : insertText.text));
    area.current?.focus();
  }, [insertText]);

  useEffect(() => {
    if (!editing) saveDraft(myId, conversationId, text);
  }, [text, editing, myId, conversationId]);

  // Grow with the text, up to a limit (CSS max-height).
  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const length = [...text].length;
  const tooLong = length > LIMITS.textMax;

  function submit() {
    const body = text.replace(/\s+$/, '');
    const attachmentIds = editing ? [] : uploads.readyIds;
    if ((!body.trim() && !attachmentIds.length) || tooLong || disabled || (!editing && uploads.busy)) return;
    if (editing) {
      client.chat.edit({ conversationId, seq: editing.seq, text: body }).catch((err: unknown) => toast(t('common.error', { code: errorCode(err) }), 'error'));
    } else {
      client.chat
        .send({ conversationId, ...(body.trim() ? { text: body } : {}), ...(attachmentIds.length ? { attachmentIds } : {}), ...(replyTo ? { replyToSeq: replyTo.m.seq } : {}) })
        .catch(() => {
          // A failed send stays in the list with a retry button (the outbox); nothing to do here.
        });
    }
    setText('');
    if (attachmentIds.length) uploads.clearSent();
    if (!editing) saveDraft(myId, conversationId, '');
    draftBeforeEdit.current = editing ? '' : null;
    onSent();
    area.current?.focus();
  }

  function onChange(v: string) {
    setText(v);
    const now = Date.now();
    if (v.trim() && !editing && now - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = now;
      client.chat.typing(conversationId)?.catch?.(() => {});
    }
  }

  if (disabled) {
    return (
      <div className="composer disabled" role="note">
        {t('composer.blocked')}
      </div>
    );
  }

  return (
    <form
      className={dragging ? 'composer dragging' : 'composer'}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => {
        if (editing || !e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        if (editing || !e.dataTransfer.files.length) return;
        e.preventDefault();
        uploads.addFiles(e.dataTransfer.files);
      }}
      data-testid="composer-form"
    >
      {dragging && <div className="drop-hint" aria-hidden="true">{t('media.dropHere')}</div>}
      {!editing && <UploadTray uploads={uploads} />}
      {(replyTo || editing) && (
        <div className="composer-context">
          <div className="composer-context-text">
            <strong>{editing ? t('composer.editing') : t('composer.replying', { name: replyTo!.name })}</strong>
            <span>{editing ? editing.text : (replyTo!.m.text ?? '')}</span>
          </div>
          <button type="button" className="icon-btn" aria-label={editing ? t('composer.cancelEdit') : t('composer.cancelReply')} onClick={onCancel}>
            <Icon name="close" size={18} />
          </button>
        </div>
      )}
      <div className="composer-row">
        {!editing && <AttachButton uploads={uploads} />}
        <textarea
          ref={area}
          value={text}
          rows={1}
          aria-label={t('composer.label')}
          aria-describedby="composer-hint"
          placeholder={t('composer.placeholder')}
          data-testid="composer"
          onChange={(e) => onChange(e.target.value)}
          onPaste={(e) => {
            // Pasted screenshots and copied files become attachments; pasted text stays text.
            if (!editing && e.clipboardData.files.length) {
              e.preventDefault();
              uploads.addFiles(e.clipboardData.files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              submit();
            } else if (e.key === 'Escape' && (replyTo || editing)) {
              e.preventDefault();
              onCancel();
            }
          }}
        />
        {!editing && !text.trim() && !uploads.uploads.length ? (
          <VoiceRecorder
            onRecorded={(blob, name) =>
              void uploads
                .start(blob, { name, kind: 'voice' })
                .then((a) => {
                  uploads.clearSent();
                  return client.chat.send({ conversationId, attachmentIds: [a.id] });
                })
                .catch((err: unknown) => toast(mediaErrorText(t as never, errorCode(err)), 'error'))
            }
          />
        ) : (
          <button type="submit" className="send-btn" aria-label={editing ? t('composer.save') : t('composer.send')} title={editing ? t('composer.save') : t('composer.send')} disabled={(!text.trim() && !(uploads.readyIds.length && !editing)) || tooLong || (!editing && uploads.busy)} data-testid="send">
            <Icon name={editing ? 'check' : 'send'} />
          </button>
        )}
      </div>
      <div id="composer-hint" className={tooLong ? 'composer-hint error' : 'composer-hint'}>
        {tooLong ? t('composer.tooLong', { count: length, max: LIMITS.textMax }) : t('composer.hint')}
      </div>
    </form>
  );
}
