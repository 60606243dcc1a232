import { describe, expect, it } from 'vitest';
import { streamFrameEncoder } from './frame-encoder.ts';

describe('stream frame encoder', () => {
  const payload = { message: { id: 'm1', text: 'Salam "dünya" \u2028', seq: 3 } };
  const frames = [
    { id: 7, result: { type: 'data', id: '42', data: { id: '42', data: { type: 'chat.message.created', cursor: '42', data: payload } } } },
    { id: 8, jsonrpc: '2.0', result: { type: 'data', data: { type: 'chat.typing', data: { conversationId: 'c', userId: 'u', expiresInMs: 6000 } } } },
    { id: 9, result: { type: 'started' } },
    { id: null, error: { message: 'x', code: -32600, data: { appCode: 'input.invalid' } } },
    { id: 10, result: { type: 'data', data: { some: 'query result' } } },
  ];

  it('produces exactly what JSON.stringify produces, for every frame kind', () => {
    for (const f of frames) expect(JSON.parse(streamFrameEncoder.encode(f))).toEqual(JSON.parse(JSON.stringify(f)));
  });

  it('serializes a shared payload once for all recipients', () => {
    const shared = { message: { id: 'm2', text: 'once' } };
    let calls = 0;
    const spy = { ...shared, toJSON() { calls++; return shared; } };
    for (let sub = 1; sub <= 100; sub++) {
      streamFrameEncoder.encode({ id: sub, result: { type: 'data', id: String(sub), data: { id: String(sub), data: { type: 'chat.message.created', cursor: String(sub), data: spy } } } });
    }
    expect(calls).toBe(1);
  });
});
