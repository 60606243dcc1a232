import { describe, expect, it } from 'vitest';
import { checkType, messageKindOf, peaks, sniff } from './media.domain.ts';

const b = (...x: Array<number | string>) => Buffer.concat(x.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));

describe('sniffing the real type from the bytes', () => {
  it('recognises images, audio containers, PDFs and archives by their magic numbers', () => {
    expect(sniff(b(0x89, 'PNG\r\n', 0x1a, '\n', 'rest')).mime).toBe('image/png');
    expect(sniff(b(0xff, 0xd8, 0xff, 0xe0)).mime).toBe('image/jpeg');
    expect(sniff(b('RIFF', 0, 0, 0, 0, 'WEBPVP8 ')).mime).toBe('image/webp');
    expect(sniff(b(0x1a, 0x45, 0xdf, 0xa3, 1)).mime).toBe('audio/webm');
    expect(sniff(b('OggS', 0)).mime).toBe('audio/ogg');
    expect(sniff(b(0, 0, 0, 0x20, 'ftypM4A ')).mime).toBe('audio/mp4');
    expect(sniff(b('%PDF-1.7')).mime).toBe('application/pdf');
    expect(sniff(b('PK', 3, 4)).mime).toBe('application/zip');
    expect(sniff(Buffer.from('salam, necəsən?\n')).mime).toBe('text/plain');
  });

  it('flags executables and markup whatever they are called', () => {
    expect(sniff(b('MZ', 0x90, 0)).family).toBe('executable');
    expect(sniff(b(0x7f, 'ELF', 2)).family).toBe('executable');
    expect(sniff(Buffer.from('#!/bin/sh\nrm -rf /')).family).toBe('executable');
    expect(sniff(Buffer.from('  <!DOCTYPE html><script>')).mime).toBe('text/html');
    expect(sniff(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="x()">')).mime).toBe('image/svg+xml');
  });
});

describe('what may be stored', () => {
  it('rejects an executable named .png as a mismatch, and refuses executables or HTML under any name', () => {
    expect(() => checkType('image', 'photo.png', 'image/png', sniff(b('MZ', 0)))).toThrow(expect.objectContaining({ code: 'media.type_mismatch' }));
    expect(() => checkType('file', 'tool', 'application/octet-stream', sniff(b('MZ', 0)))).toThrow(expect.objectContaining({ code: 'media.type_not_allowed' }));
    expect(() => checkType('file', 'notes.txt', 'text/plain', sniff(Buffer.from('<html><script>')))).toThrow(expect.objectContaining({ code: 'media.type_mismatch' }));
  });

  it('accepts office documents (zip inside) and audio recorded with a video/webm type', () => {
    expect(() => checkType('file', 'hesab.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', sniff(b('PK', 3, 4)))).not.toThrow();
    expect(() => checkType('voice', 'voice', 'video/webm', sniff(b(0x1a, 0x45, 0xdf, 0xa3)))).not.toThrow();
  });

  it('requires images for image attachments and audio for voice', () => {
    expect(() => checkType('image', 'a', 'application/pdf', sniff(b('%PDF-1.4')))).toThrow(expect.objectContaining({ code: 'media.type_not_allowed' }));
    expect(() => checkType('voice', 'a', 'application/octet-stream', sniff(b(0x89, 'PNG\r\n', 0x1a, '\n')))).toThrow(expect.objectContaining({ code: 'media.type_not_allowed' }));
  });
});

describe('message kind and waveform', () => {
  it('names a message by its attachments', () => {
    expect(messageKindOf(['image', 'image'])).toBe('image');
    expect(messageKindOf(['image', 'file'])).toBe('file');
    expect(messageKindOf(['voice'])).toBe('voice');
  });

  it('draws peaks scaled to the loudest part', () => {
    const s = new Int16Array(800);
    s.fill(1000, 0, 400);
    s.fill(-8000, 400, 800);
    expect(peaks(s, 4)).toEqual([32, 32, 255, 255]);
    expect(peaks(new Int16Array(0), 3)).toEqual([0, 0, 0]);
  });
});
