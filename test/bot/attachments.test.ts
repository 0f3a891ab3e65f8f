import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentKind, downloadAttachment } from '../../src/bot/attachments.js';

let server: Server;
let base = '';
beforeAll(async () => {
  // Serves `n` bytes at /bytes/n whatever size the attachment claims.
  server = createServer((req, res) => {
    const n = Number(req.url?.split('/')[2] ?? 0);
    if (!Number.isFinite(n) || req.url?.startsWith('/missing')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.alloc(n, 7));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('downloadAttachment', () => {
  it('GIVEN a file within the limit WHEN downloaded THEN every byte arrives', async () => {
    const bytes = await downloadAttachment({ url: `${base}/bytes/1000`, name: 'a.mid', size: 1000 }, 'midi', 1000);
    expect(bytes.byteLength).toBe(1000);
  });

  it('GIVEN a declared size over the limit WHEN downloaded THEN it is refused before any request', async () => {
    await expect(downloadAttachment({ url: `${base}/missing`, name: 'big.mid', size: 2001 }, 'midi', 2000)).rejects.toMatchObject({
      code: 'MIDI_TOO_LARGE',
    });
  });

  it('GIVEN a body larger than its declared size WHEN downloaded THEN the stream is cut at the limit', async () => {
    await expect(downloadAttachment({ url: `${base}/bytes/300000`, name: 'liar.mp3', size: 10 }, 'audio', 100_000)).rejects.toMatchObject({
      code: 'AUDIO_TOO_LARGE',
      userMessage: expect.stringMatching(/larger than the .*KB limit/),
    });
  });

  it('GIVEN a failing URL WHEN downloaded THEN the user is asked to send it again', async () => {
    await expect(downloadAttachment({ url: `${base}/missing/x`, name: 'a.mid', size: 1 }, 'midi', 10)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('attachmentKind', () => {
  it('GIVEN file names WHEN classified THEN MIDI and audio are told apart and others refused', () => {
    expect(attachmentKind('Song.MID', ['midi'])).toBe('midi');
    expect(attachmentKind('take.flac', ['midi', 'audio'])).toBe('audio');
    expect(() => attachmentKind('take.flac', ['midi'])).toThrow(/send MIDI/);
    expect(() => attachmentKind('notes.txt', ['midi', 'audio'])).toThrow(/not a file I can read/);
  });
});
