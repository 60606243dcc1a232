import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { LOCALES, tables, type Locale, type MessageKey } from './strings.ts';

/** Locale-aware text, numbers and dates. Everything the UI shows goes through here. */
export interface I18n {
  locale: Locale;
  setLocale(l: Locale): void;
  t(key: MessageKey, params?: Record<string, string | number>): string;
  /** 14:05 */
  time(iso: string | Date): string;
  /** "Bu gün" / "Dünən" / 12 noyabr 2025 */
  day(iso: string | Date): string;
  /** Time for the list: today → time, this week → weekday, else a short date. */
  listTime(iso: string | Date): string;
  /** "5 dəqiqə əvvəl" */
  ago(iso: string | Date): string;
  price(amount: number, currency: string): string;
  number(n: number): string;
}

const STORAGE_KEY = 'sohbet.locale';
const I18nContext = createContext<I18n | null>(null);

function initialLocale(): Locale {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl && (LOCALES as string[]).includes(fromUrl)) return fromUrl as Locale;
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored && (LOCALES as string[]).includes(stored)) return stored as Locale;
  return 'az';
}

const DAY = 86_400_000;

/**
 * Some browser builds (Debian's Chromium, trimmed ICU) accept 'az' but carry no data for it and
 * print "M11 25" or "AZN 1,450.00". Then dates and prices are built from CLDR's Azerbaijani
 * patterns below (numbers group like Turkish: 1.450,5).
 */
const AZ_CLDR = {
  months: ['yanvar', 'fevral', 'mart', 'aprel', 'may', 'iyun', 'iyul', 'avqust', 'sentyabr', 'oktyabr', 'noyabr', 'dekabr'],
  weekdays: ['B.', 'B.e.', 'Ç.a.', 'Ç.', 'C.a.', 'C.', 'Ş.'],
  currency: { AZN: '₼' } as Record<string, string>,
};

function hasLocaleData(locale: string): boolean {
  if (locale === 'en') return true;
  try {
    const jan = new Intl.DateTimeFormat(locale, { month: 'long' }).format(new Date(2025, 0, 15));
    return !/^M?0?1$/.test(jan) && jan !== 'January';
  } catch {
    return false;
  }
}
const pad2 = (n: number) => String(n).padStart(2, '0');
const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

export function makeI18n(locale: Locale, setLocale: (l: Locale) => void): I18n {
  const table = tables[locale];
  const intl = hasLocaleData(locale);
  const azFallback = !intl && locale === 'az';
  const timeFmt = new Intl.DateTimeFormat(intl ? locale : 'en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: locale === 'az' ? 'h23' : undefined });
  const dayFmt = intl
    ? new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric' })
    : { format: (d: Date) => `${d.getDate()} ${AZ_CLDR.months[d.getMonth()]} ${d.getFullYear()}` };
  const weekdayFmt = intl ? new Intl.DateTimeFormat(locale, { weekday: 'short' }) : { format: (d: Date) => AZ_CLDR.weekdays[d.getDay()]! };
  const shortFmt = intl
    ? new Intl.DateTimeFormat(locale, { day: '2-digit', month: '2-digit', year: '2-digit' })
    : { format: (d: Date) => `${pad2(d.getDate())}.${pad2(d.getMonth() + 1)}.${pad2(d.getFullYear() % 100)}` };
  const numberLocale = azFallback ? 'tr' : locale;
  const numFmt = new Intl.NumberFormat(numberLocale);
  const t = (key: MessageKey, params?: Record<string, string | number>) => {
    const s: string = table[key] ?? key;
    return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s;
  };
  const toDate = (x: string | Date) => (typeof x === 'string' ? new Date(x) : x);
  return {
    locale,
    setLocale,
    t,
    time: (x) => timeFmt.format(toDate(x)),
    day: (x) => {
      const d = toDate(x);
      const diff = Math.round((startOfDay(new Date()) - startOfDay(d)) / DAY);
      if (diff === 0) return t('conv.today');
      if (diff === 1) return t('conv.yesterday');
      return dayFmt.format(d);
    },
    listTime: (x) => {
      const d = toDate(x);
      const diff = Math.round((startOfDay(new Date()) - startOfDay(d)) / DAY);
      if (diff === 0) return timeFmt.format(d);
      if (diff === 1) return t('conv.yesterday');
      if (diff < 7) return weekdayFmt.format(d);
      return shortFmt.format(d);
    },
    ago: (x) => {
      const secs = Math.max(0, Math.round((Date.now() - toDate(x).getTime()) / 1000));
      if (secs < 60) return t('time.justNow');
      if (secs < 3600) return t('time.minutesAgo', { count: numFmt.format(Math.round(secs / 60)) });
      if (secs < DAY / 1000) return t('time.hoursAgo', { count: numFmt.format(Math.round(secs / 3600)) });
      if (secs < (7 * DAY) / 1000) return t('time.daysAgo', { count: numFmt.format(Math.round(secs / (DAY / 1000))) });
      return dayFmt.format(toDate(x));
    },
    price: (amount, currency) => {
      if (azFallback) {
        const n = new Intl.NumberFormat('tr', { maximumFractionDigits: amount % 1 === 0 ? 0 : 2, minimumFractionDigits: amount % 1 === 0 ? 0 : 2 }).format(amount);
        return `${n} ${AZ_CLDR.currency[currency] ?? currency}`;
      }
      try {
        return new Intl.NumberFormat(locale, { style: 'currency', currency, maximumFractionDigits: amount % 1 === 0 ? 0 : 2 }).format(amount);
      } catch {
        return `${numFmt.format(amount)} ${currency}`;
      }
    },
    number: (n) => numFmt.format(n),
  };
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const setLocale = useCallback((l: Locale) => {
    localStorage.setItem(STORAGE_KEY, l);
    setLocaleState(l);
  }, []);
  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = tables[locale]['app.name'];
  }, [locale]);
  const value = useMemo(() => makeI18n(locale, setLocale), [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n needs <I18nProvider>');
  return v;
}

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <label className="lang-switch">
      <span className="visually-hidden">{t('lang.label')}</span>
      <select aria-label={t('lang.label')} value={locale} onChange={(e) => setLocale(e.target.value as Locale)} data-testid="lang-switch">
        {LOCALES.map((l) => (
          <option key={l} value={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
