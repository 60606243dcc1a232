import type { ListingContext } from '@sohbet/protocol';
import { useI18n } from '../i18n/i18n.tsx';

/** The listing a conversation is about: picture, title, price. */
export function ListingCard({ listing, compact }: { listing: ListingContext; compact?: boolean }) {
  const { t, price } = useI18n();
  const body = (
    <>
      {listing.imageUrl ? (
        <img className="listing-img" src={listing.imageUrl} alt="" loading="lazy" />
      ) : (
        <span className="listing-img placeholder" aria-hidden="true">
          <svg viewBox="0 0 24 24" width="20" height="20">
            <path fill="currentColor" d="M21 7l-9-5-9 5v10l9 5 9-5V7zm-9 12.7L5 16V8.3l7 3.9v7.5zm1-9.2L6.1 6.7 12 3.3l5.9 3.4L13 10.5z" />
          </svg>
        </span>
      )}
      <span className="listing-text">
        <span className="listing-label">{t('listing.label')}</span>
        <span className="listing-title">{listing.title}</span>
        {listing.price && <span className="listing-price">{price(listing.price.amount, listing.price.currency)}</span>}
      </span>
    </>
  );
  const cls = compact ? 'listing-card compact' : 'listing-card';
  return listing.url && !compact ? (
    <a className={cls} href={listing.url} target="_blank" rel="noopener noreferrer" aria-label={`${t('listing.open')}: ${listing.title}`} data-testid="listing-card">
      {body}
    </a>
  ) : (
    <span className={cls} data-testid="listing-card">
      {body}
    </span>
  );
}
