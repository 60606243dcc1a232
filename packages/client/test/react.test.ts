import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElement, type ReactNode } from 'react';
import TestRenderer from 'react-test-renderer';
import { SohbetProvider, useConnectionStatus, useConversations, useMessages, useOutbox, usePresence, useSohbet, useTyping } from '../src/react.ts';
import type { SohbetClient } from '../src/api.ts';
import { clientFor, startTestServer, until, type TestServer } from './support.ts';

// Updates come from real network events, not from act() scopes: let React's scheduler run them.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
const consoleError = console.error;
console.error = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('react-test-renderer is deprecated')) return;
  consoleError(...args);
};

/** Renders `hook` under a provider and exposes its latest value and render count. */
async function renderHook<T>(client: SohbetClient, hook: () => T) {
  const box = { value: undefined as T, renders: 0 };
  function Probe(): ReactNode {
    box.value = hook();
    box.renders++;
    return null;
  }
  const r = TestRenderer.create(createElement(SohbetProvider, { client }, createElement(Probe)));
  await until(() => box.renders > 0);
  return {
    box,
    /** Waits until `cond` holds for the latest rendered value. */
    until: (cond: (v: T) => boolean, ms = 5000) => until(() => cond(box.value), ms),
    unmount: () => r.unmount(),
  };
}

describe('React hooks against a real server', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('useSohbet throws a clear error outside the provider', async () => {
    let caught: unknown = null;
    function Bare(): ReactNode {
      try {
        useSohbet();
      } catch (e) {
        caught = e;
      }
      return null;
    }
    const r = TestRenderer.create(createElement(Bare));
    await until(() => caught !== null);
    r.unmount();
    expect(String(caught)).toMatch(/SohbetProvider/);
  });

  it('useConnectionStatus follows the client, useConversations stays live with unread counts', async () => {
    const me = clientFor(s, 'rh-me');
    const x = clientFor(s, 'rh-x');
    await x.connect();
    const status = await renderHook(me, () => useConnectionStatus());
    expect(status.box.value).toBe('idle');
    await me.connect();
    await status.until((v) => v === 'connected');
    const list = await renderHook(me, () => useConversations());
    await list.until((v) => !v.loading);
    expect(list.box.value.conversations).toEqual([]);
    const conv = await x.chat.openDirect({ userId: 'rh-me' });
    await x.chat.send({ conversationId: conv.id, text: 'salam' });
    await list.until((v) => v.conversations[0]?.unreadCount === 1);
    expect(list.box.value.conversations[0]).toMatchObject({ id: conv.id, lastMessage: { text: 'salam' } });
    status.unmount();
    list.unmount();
    me.disconnect();
    x.disconnect();
  });

  it('useMessages loads the window and appends live messages and my reply exactly once; useTyping and useOutbox follow', async () => {
    const me = clientFor(s, 'rm-me');
    const x = clientFor(s, 'rm-x');
    await Promise.all([me.connect(), x.connect()]);
    const conv = await x.chat.openDirect({ userId: 'rm-me' });
    await x.chat.send({ conversationId: conv.id, text: 'first' });
    const view = await renderHook(me, () => ({ messages: useMessages(conv.id), typing: useTyping(conv.id), outbox: useOutbox() }));
    await view.until((v) => !v.messages.loading && v.messages.messages.length === 1);
    expect(view.box.value.messages.hasMore).toBe(false);
    await x.chat.typing(conv.id);
    await view.until((v) => v.typing.includes('rm-x'));
    await x.chat.send({ conversationId: conv.id, text: 'second' });
    // Their message ends their typing indicator.
    await view.until((v) => v.messages.messages.length === 2 && v.typing.length === 0);
    await me.chat.send({ conversationId: conv.id, text: 'reply' });
    await view.until((v) => v.messages.messages.map((m) => m.text).join() === 'first,second,reply' && v.outbox.length === 0);
    expect(view.box.value.messages.messages.every((m) => !m.localState)).toBe(true);
    view.unmount();
    me.disconnect();
    x.disconnect();
  });

  it('usePresence fetches presence and follows presence events', async () => {
    const me = clientFor(s, 'rp-me');
    await me.connect();
    await s.token('rp-x');
    await me.chat.openDirect({ userId: 'rp-x' });
    const view = await renderHook(me, () => usePresence(['rp-x']));
    await view.until((v) => v.get('rp-x')?.online === false);
    const x = clientFor(s, 'rp-x');
    await x.connect();
    await view.until((v) => v.get('rp-x')?.online === true);
    x.disconnect();
    await view.until((v) => v.get('rp-x')?.online === false && v.get('rp-x')?.lastSeenAt !== null);
    view.unmount();
    me.disconnect();
  });
});
