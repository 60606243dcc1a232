import { useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { useChatClient, type SupportChatDTO } from '../sdk.ts';

/** After resolve: the customer rates the chat 1-5 with an optional comment, once (CSAT). */
export function Rating({ chat, fail, onRated }: { chat: SupportChatDTO; fail(err: unknown): void; onRated(): void }) {
  const { t, number } = useI18n();
  const client = useChatClient();
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  if (chat.csat) {
    return (
      <p className="support-sub" data-testid="support-rated">
        {t('support.rate.thanks', { score: number(chat.csat.score) })}
      </p>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!score || busy) return;
    setBusy(true);
    client.support
      .rate({ chatId: chat.id, score, comment: comment.trim() || undefined })
      .then(onRated, fail)
      .finally(() => setBusy(false));
  };
  return (
    <form className="support-rating" onSubmit={submit} data-testid="support-rating">
      <fieldset>
        <legend>{t('support.rate.title')}</legend>
        <div className="stars" role="radiogroup" aria-label={t('support.rate.title')}>
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} className={n <= score ? 'star on' : 'star'} title={t('support.rate.star', { count: number(n) })}>
              <input type="radio" name={`csat-${chat.id}`} value={n} checked={score === n} onChange={() => setScore(n)} aria-label={t('support.rate.star', { count: number(n) })} data-testid={`support-star-${n}`} />
              <span aria-hidden="true">★</span>
            </label>
          ))}
        </div>
      </fieldset>
      <input value={comment} onChange={(e) => setComment(e.target.value)} placeholder={t('support.rate.comment')} aria-label={t('support.rate.comment')} maxLength={1000} data-testid="support-rate-comment" />
      <button type="submit" className="primary" disabled={!score || busy} data-testid="support-rate-send">
        {t('support.rate.send')}
      </button>
    </form>
  );
}
