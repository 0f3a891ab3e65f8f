import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAllowedHost, attachmentKind, checkAttachment, downloadAttachmentToFile } from '../../src/bot/attachments.js';

let server: Server;
let base = '';
let dir = '';
/** Bytes the server managed to write per request path before the client went away. */
const written = new Map<string, number>();
const stalled: ServerResponse[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'motif-attachments-'));
  // /bytes/n serves n bytes whatever size the attachment claims, in 64 KB writes that wait for the
  // client (so a client that stops reading stops the writes); /stall/n sends headers and n bytes, then nothing.
  server = createServer((req, res) => {
    const [, route, count] = (req.url ?? '').split('/');
    const n = Number(count ?? 0);
    if (route === 'redirect') {
      res.writeHead(302, { location: `${base}/bytes/10` }).end();
      return;
    }
    if (!Number.isFinite(n) || route === 'missing') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    if (route === 'stall') {
      res.write(Buffer.alloc(n, 7));
      stalled.push(res);
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < n && !res.destroyed) {
        const size = Math.min(65536, n - sent);
        sent += size;
        written.set(req.url ?? '', sent);
        if (!res.write(Buffer.alloc(size, 7))) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

let fileNo = 0;
const opts = (overrides: Partial<{ maxBytes: number; timeoutMs: number }> = {}) => ({
  allowedHosts: ['127.0.0.1'],
  maxBytes: 1_000_000,
  timeoutMs: 10_000,
  destPath: join(dir, `download-${fileNo++}`),
  ...overrides,
});

describe('downloadAttachmentToFile', () => {
  it('GIVEN a file within the limit WHEN downloaded THEN every byte lands in the file', async () => {
    const o = opts();
    expect(await downloadAttachmentToFile({ url: `${base}/bytes/1000`, name: 'a.mid', size: 1000 }, 'midi', o)).toBe(1000);
    expect(readFileSync(o.destPath)).toHaveLength(1000);
  });

  it('GIVEN a declared size over the limit WHEN downloaded THEN it is refused before any request', async () => {
    await expect(downloadAttachmentToFile({ url: `${base}/missing`, name: 'big.mid', size: 2001 }, 'midi', opts({ maxBytes: 2000 }))).rejects.toMatchObject({
      code: 'MIDI_TOO_LARGE',
    });
  });

  it('GIVEN a 50 MB body behind a declared size of 10 bytes WHEN downloaded THEN reading stops near the limit and nothing is kept', async () => {
    const o = opts({ maxBytes: 100_000 });
    await expect(downloadAttachmentToFile({ url: `${base}/bytes/52428800`, name: 'liar.mp3', size: 10 }, 'audio', o)).rejects.toMatchObject({
      code: 'AUDIO_TOO_LARGE',
      userMessage: expect.stringMatching(/larger than the .*KB limit/),
    });
    expect(existsSync(o.destPath)).toBe(false);
    // The server could only write what socket buffers hold beyond the cap: far from 50 MB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(written.get('/bytes/52428800') ?? 0).toBeLessThan(20 * 1024 * 1024);
  });

  it('GIVEN a download that stalls after its headers WHEN the deadline passes THEN DOWNLOAD_FAILED says the upload did not arrive', async () => {
    const o = opts({ timeoutMs: 300 });
    await expect(downloadAttachmentToFile({ url: `${base}/stall/100`, name: 'slow.mid', size: 1000 }, 'midi', o)).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      userMessage: 'The upload did not arrive (Discord did not send the file in time); try again.',
    });
    expect(existsSync(o.destPath)).toBe(false);
  });

  it('GIVEN a failing URL or a redirect WHEN downloaded THEN DOWNLOAD_FAILED asks to send it again', async () => {
    await expect(downloadAttachmentToFile({ url: `${base}/missing/x`, name: 'a.mid', size: 1 }, 'midi', opts())).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
    await expect(downloadAttachmentToFile({ url: `${base}/redirect/x`, name: 'a.mid', size: 1 }, 'midi', opts())).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
  });
});

describe('attachment hosts', () => {
  const cdn = ['cdn.discordapp.com', 'media.discordapp.net'];

  it('GIVEN Discord CDN URLs WHEN checked THEN they pass; AND other hosts, plain http and look-alikes are refused', () => {
    expect(() => assertAllowedHost('https://cdn.discordapp.com/attachments/1/2/a.mid?ex=1', cdn)).not.toThrow();
    expect(() => assertAllowedHost('https://media.discordapp.net/attachments/1/2/a.mid', cdn)).not.toThrow();
    for (const url of [
      'http://cdn.discordapp.com/attachments/1/2/a.mid',
      'https://cdn.discordapp.com.evil.example/a.mid',
      'https://169.254.169.254/latest/meta-data',
      'http://127.0.0.1:6379/',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(() => assertAllowedHost(url, cdn), url).toThrow(/not on Discord’s file server/);
    }
  });

  it('GIVEN a configured local host WHEN checked THEN http on loopback passes (the test server), with or without its port', () => {
    expect(() => assertAllowedHost('http://127.0.0.1:4567/attachments/1/a.mid', ['127.0.0.1'])).not.toThrow();
    expect(() => assertAllowedHost('http://127.0.0.1:4567/attachments/1/a.mid', ['127.0.0.1:4567'])).not.toThrow();
    expect(() => assertAllowedHost('http://127.0.0.1:4567/attachments/1/a.mid', ['127.0.0.1:9999'])).toThrow();
  });

  it('GIVEN a too-large or foreign attachment WHEN pre-checked THEN it is refused without any download', () => {
    const policy = () => ({ allowedHosts: cdn, maxBytes: 1000 });
    expect(checkAttachment({ url: 'https://cdn.discordapp.com/a.mid', name: 'a.mid', size: 10 }, ['midi'], policy)).toBe('midi');
    expect(() => checkAttachment({ url: 'https://cdn.discordapp.com/a.mid', name: 'a.mid', size: 1001 }, ['midi'], policy)).toThrow(/larger than/);
    expect(() => checkAttachment({ url: 'https://example.com/a.mid', name: 'a.mid', size: 10 }, ['midi'], policy)).toThrow(/not on Discord/);
  });
});

describe('attachmentKind', () => {
  it('GIVEN file names WHEN classified THEN MIDI and audio are told apart and others refused', () => {
    expect(attachmentKind('Song.MID', ['midi'])).toBe('midi');
    expect(attachmentKind('wrapped.rmi', ['midi'])).toBe('midi');
    expect(attachmentKind('take.flac', ['midi', 'audio'])).toBe('audio');
    expect(() => attachmentKind('take.flac', ['midi'])).toThrow(/send MIDI/);
    expect(() => attachmentKind('notes.txt', ['midi', 'audio'])).toThrow(/not a file I can read/);
  });
});
