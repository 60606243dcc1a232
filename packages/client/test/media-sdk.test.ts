import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDTO } from '@sohbet/protocol';
import { SohbetError } from '../src/errors.ts';
import { png, opusWebm } from '../../server/test/media-fixtures.ts';
import { clientFor, record, startTestServer, until, type TestServer } from './support.ts';

describe('SDK media against a real server', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('uploads a Blob with progress, sends it, and the other side downloads it from a signed URL', async () => {
    const a = clientFor(s, 'sdkm-a');
    const b = clientFor(s, 'sdkm-b');
    await Promise.all([a.connect(), b.connect()]);
    const conv = await a.chat.openDirect({ userId: 'sdkm-b' });
    const bytes = await png(200, 100);
    const progress: number[] = [];
    const att = await a.media.upload(new Blob([new Uint8Array(bytes)], { type: 'image/png' }), { conversationId: conv.id, name: 'p.png', onProgress: (p) => progress.push(p.fraction) });
    expect(att).toMatchObject({ kind: 'image', width: 200, height: 100, thumbnail: true });
    expect(progress.at(0)).toBe(0);
    expect(progress.at(-1)).toBe(1);
    const got = record<MessageDTO>((f) => b.on('message', f));
    await a.chat.send({ conversationId: conv.id, attachmentIds: [att.id] });
    await until(() => got.length === 1);
    expect(got[0]!.kind).toBe('image');
    const res = await fetch(await b.media.url(att.id, 'thumbnail'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    a.disconnect();
    b.disconnect();
  });

  it('uploads a React Native style { uri } source, and the listener\'s first play reaches the sender as voice.heard', async () => {
    const a = clientFor(s, 'sdkm-c');
    const b = clientFor(s, 'sdkm-d');
    await Promise.all([a.connect(), b.connect()]);
    const conv = await a.chat.openDirect({ userId: 'sdkm-d' });
    // fetch(uri) is how React Native reads a local recording; a data: uri stands in for file:// here.
    const uri = `data:audio/webm;base64,${opusWebm(1).toString('base64')}`;
    const voice = await a.media.upload({ uri, name: 'voice.webm', type: 'audio/webm' }, { conversationId: conv.id, kind: 'voice' });
    expect(voice.durationMs).toBeGreaterThan(900);
    const msg = await a.chat.send({ conversationId: conv.id, attachmentIds: [voice.id] });
    const heard = record<{ userId: string; seq: number }>((f) => a.on('voice.heard', f));
    await b.media.markHeard({ conversationId: conv.id, seq: msg.seq });
    await until(() => heard.length === 1);
    expect(heard[0]).toMatchObject({ userId: 'sdkm-d', seq: msg.seq });
    a.disconnect();
    b.disconnect();
  });

  it('cancel() rejects with client.cancelled and leaves nothing on the server; bad files reject with typed errors', async () => {
    const a = clientFor(s, 'sdkm-e');
    await a.connect();
    await s.token('sdkm-f');
    const conv = await a.chat.openDirect({ userId: 'sdkm-f' });
    const task = a.media.upload(new Blob([new Uint8Array(3 * 1024 * 1024)], { type: 'application/pdf' }), { conversationId: conv.id, name: 'big.pdf' });
    task.cancel();
    const err = await task.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SohbetError);
    expect((err as SohbetError).code).toBe('client.cancelled');
    expect(await s.app.services.media.usage('sdkm-e')).toEqual([]);
    const exe = new Blob([new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0])], { type: 'image/png' });
    const bad = await a.media.upload(exe, { conversationId: conv.id, name: 'photo.png' }).catch((e: unknown) => e);
    expect((bad as SohbetError).code).toBe('media.type_mismatch');
    a.disconnect();
  });
});
