import { forwardRef, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';

export interface VirtualListHandle {
  /** Scrolls so the item with `key` is `offsetPx` below the top of the viewport. */
  scrollToKey(key: string, offsetPx?: number): void;
  scrollToBottom(): void;
  isAtBottom(): boolean;
}

interface Props<T> {
  items: T[];
  getKey(item: T): string;
  render(item: T): ReactNode;
  /** Height guess for rows not measured yet. */
  estimate?: number;
  /** Called when the user scrolls near the top (to load older rows). */
  onNearTop?(): void;
  onBottomChange?(atBottom: boolean): void;
  className?: string;
  label: string;
  onKeyDown?(e: React.KeyboardEvent<HTMLElement>): void;
  /** Rows that may anchor the scroll position (not separators, which move when rows are prepended). */
  canAnchor?(item: T): boolean;
  header?: ReactNode;
}

const OVERSCAN_PX = 600;
const BOTTOM_SLACK_PX = 48;

/**
 * A windowed list for chat: only rows near the viewport are in the DOM, rows are measured with a
 * ResizeObserver, and the scroll position is anchored to a visible row, so rows measured or
 * prepended above (older history) do not move what the reader is looking at. When the reader is
 * at the bottom it stays there as new rows arrive.
 */
function VirtualListInner<T>(props: Props<T>, ref: React.ForwardedRef<VirtualListHandle>) {
  const { items, getKey, render, estimate = 64, onNearTop, onBottomChange, className, label, header, onKeyDown, canAnchor } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [measureTick, setMeasureTick] = useState(0);
  const [viewport, setViewport] = useState({ top: 0, height: 800 });
  const atBottom = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const headerHeight = useRef(0);

  const keys = useMemo(() => items.map(getKey), [items, getKey]);
  const offsets = useMemo(() => {
    const out = new Array<number>(keys.length + 1);
    out[0] = 0;
    for (let i = 0; i < keys.length; i++) out[i + 1] = out[i]! + (heights.current.get(keys[i]!) ?? estimate);
    return out;
    // measureTick: heights changed
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [keys, estimate, measureTick]);
  const indexOf = useMemo(() => new Map(keys.map((k, i) => [k, i])), [keys]);
  const total = offsets[keys.length]!;

  const firstAt = useCallback(
    (y: number) => {
      let lo = 0;
      let hi = keys.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offsets[mid]! <= y) lo = mid;
        else hi = mid - 1;
      }
      return Math.max(0, lo);
    },
    [keys.length, offsets],
  );

  const start = keys.length ? firstAt(Math.max(0, viewport.top - headerHeight.current - OVERSCAN_PX)) : 0;
  let end = start;
  const bottomY = viewport.top - headerHeight.current + viewport.height + OVERSCAN_PX;
  while (end < keys.length && offsets[end]! < bottomY) end++;

  const recordAnchor = useCallback(() => {
    const el = scroller.current;
    if (!el || keys.length === 0) return;
    const y = el.scrollTop - headerHeight.current;
    let i = firstAt(Math.max(0, y));
    if (canAnchor) while (i < keys.length - 1 && !canAnchor(items[i]!)) i++;
    anchor.current = { key: keys[i]!, delta: offsets[i]! - y };
  }, [firstAt, keys, offsets, items, canAnchor]);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    if (bottom !== atBottom.current) {
      atBottom.current = bottom;
      onBottomChange?.(bottom);
    }
    recordAnchor();
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < 400) onNearTop?.();
  }, [onBottomChange, onNearTop, recordAnchor]);

  // After every layout change: keep the bottom pinned, or the anchor row where it was.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (atBottom.current) el.scrollTop = el.scrollHeight;
    else if (anchor.current) {
      const i = indexOf.get(anchor.current.key);
      if (i !== undefined) {
        const want = offsets[i]! + headerHeight.current - anchor.current.delta;
        if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
      }
    }
    if (el.scrollTop !== viewport.top || el.clientHeight !== viewport.height) setViewport({ top: el.scrollTop, height: el.clientHeight });
  });

  // A short history does not fill the viewport: ask for more right away.
  useEffect(() => {
    const el = scroller.current;
    if (el && el.scrollHeight <= el.clientHeight + 400) onNearTop?.();
  }, [total, onNearTop]);

  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            let changed = false;
            for (const e of entries) {
              const key = (e.target as HTMLElement).dataset.vkey;
              const h = (e.target as HTMLElement).offsetHeight;
              if (key === undefined) {
                if (h !== headerHeight.current) ((headerHeight.current = h), (changed = true));
                continue;
              }
              if (h > 0 && heights.current.get(key) !== h) {
                heights.current.set(key, h);
                changed = true;
              }
            }
            if (changed) setMeasureTick((x) => x + 1);
          }),
    [],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      setViewport({ top: el.scrollTop, height: el.clientHeight });
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const measure = useCallback(
    (node: HTMLElement | null) => {
      if (!node || !observer) return;
      observer.observe(node);
      return () => observer.unobserve(node);
    },
    [observer],
  );

  useImperativeHandle(
    ref,
    () => ({
      scrollToKey(key, offsetPx = 16) {
        const el = scroller.current;
        const i = indexOf.get(key);
        if (!el || i === undefined) return;
        atBottom.current = false;
        onBottomChange?.(false);
        anchor.current = { key, delta: offsetPx };
        el.scrollTop = offsets[i]! + headerHeight.current - offsetPx;
        setViewport({ top: el.scrollTop, height: el.clientHeight });
      },
      scrollToBottom() {
        const el = scroller.current;
        if (!el) return;
        atBottom.current = true;
        onBottomChange?.(true);
        el.scrollTop = el.scrollHeight;
      },
      isAtBottom: () => atBottom.current,
    }),
    [indexOf, offsets, onBottomChange],
  );

  return (
    <div ref={scroller} className={className} onScroll={onScroll} onKeyDown={onKeyDown} role="log" aria-label={label} aria-live="polite" aria-relevant="additions" tabIndex={0} data-testid="message-scroller">
      {header !== undefined && <div ref={measure}>{header}</div>}
      <div style={{ height: offsets[start], flex: 'none' }} aria-hidden="true" />
      {keys.slice(start, end).map((k, j) => (
        <div key={k} data-vkey={k} ref={measure}>
          {render(items[start + j]!)}
        </div>
      ))}
      <div style={{ height: total - offsets[end]!, flex: 'none' }} aria-hidden="true" />
    </div>
  );
}

export const VirtualList = forwardRef(VirtualListInner) as <T>(p: Props<T> & { ref?: React.Ref<VirtualListHandle> }) => ReturnType<typeof VirtualListInner>;
