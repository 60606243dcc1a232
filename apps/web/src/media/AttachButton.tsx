import { useRef } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { Icon } from '../ui/Dialog.tsx';
import { formatSize, mediaErrorText, type Uploads } from './uploads.ts';

/** The composer's attach button (chat and support widget): opens the file picker, any number of files. */
export function AttachButton({ uploads, disabled }: { uploads: Uploads; disabled?: boolean }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="icon-btn attach-btn" aria-label={t('media.attach')} title={t('media.attach')} disabled={disabled} onClick={() => input.current?.click()} data-testid="attach">
        <Icon name="attach" />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          if (e.target.files) uploads.addFiles(e.target.files);
          e.target.value = '';
        }}
      />
    </>
  );
}

/** What is attached to the next message: previews, progress bars, errors, remove buttons. */
export function UploadTray({ uploads }: { uploads: Uploads }) {
  const { t } = useI18n();
  if (!uploads.uploads.length) return null;
  return (
    <ul className="upload-tray" aria-label={t('media.attached')} data-testid="upload-tray">
      {uploads.uploads.map((u) => (
        <li key={u.localId} className={`upload ${u.state}`} data-testid="upload" data-state={u.state}>
          {u.preview ? <img src={u.preview} alt="" className="upload-preview" /> : <span className="upload-icon"><Icon name={u.kind === 'voice' ? 'mic' : 'file'} /></span>}
          <span className="upload-text">
            <span className="upload-name">{u.name}</span>
            <span className="upload-sub" role={u.state === 'failed' ? 'alert' : undefined}>{u.state === 'failed' ? mediaErrorText(t, u.error) : formatSize(u.size)}</span>
            {u.state === 'uploading' && (
              <progress className="upload-progress" max={1} value={u.progress} aria-label={t('media.uploading', { name: u.name })} data-testid="upload-progress" />
            )}
          </span>
          <button type="button" className="icon-btn" aria-label={t('media.remove', { name: u.name })} onClick={() => uploads.remove(u.localId)}>
            <Icon name="close" size={16} />
          </button>
        </li>
      ))}
    </ul>
  );
}
