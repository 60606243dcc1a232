import { useState } from 'react';
import { useI18n } from '../i18n/i18n.tsx';

const COLORS = ['#0f766e', '#7c3aed', '#b45309', '#be123c', '#1d4ed8', '#15803d', '#a21caf', '#0e7490'];

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

/** Up to two initials, upper-cased by the rules of the UI language (i → İ in Azerbaijani). */
export function initials(name: string, locale: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = (words.length > 1 ? [words[0]!, words[words.length - 1]!] : words).map((w) => [...w][0] ?? '');
  return letters.join('').toLocaleUpperCase(locale) || '?';
}

/** A user's picture, or their initials on a colour derived from their id. */
export function Avatar({ name, id, url, size = 40, online }: { name: string; id: string; url?: string | null; size?: number; online?: boolean }) {
  const { locale, t } = useI18n();
  const [broken, setBroken] = useState(false);
  return (
    <span className="avatar" style={{ width: size, height: size, fontSize: size * 0.4, background: COLORS[hash(id) % COLORS.length] }} aria-hidden="true">
      {url && !broken ? <img src={url} alt="" width={size} height={size} onError={() => setBroken(true)} /> : initials(name, locale)}
      {online !== undefined && <span className={online ? 'presence-dot online' : 'presence-dot'} title={online ? t('presence.onlineDot') : undefined} />}
    </span>
  );
}
