/**
 * What every BlobStore must do, run against each implementation (local-blob-store.test.ts,
 * postgres-blob-store.int.test.ts): the bot and its workers rely on exactly this, whichever
 * BLOB_URL an operator picks.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { isMotifError } from '../../src/errors.js';
import type { BlobStore } from '../../src/storage/blobs/blob-store.js';
import { midiFilesIn, withDatasets } from '../support/datasets.js';

export interface BlobStoreFixture {
  store: BlobStore;
  /** Removes everything the fixture created (a temp folder, a schema). */
  dispose(): Promise<void>;
}

const { itData } = withDatasets(import.meta.url);

/** Every byte value, in a pattern no text encoding survives. */
function allBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isMotifError(error) ? error.code : `plain ${(error as Error).message.slice(0, 40)}`;
  }
}

export function blobStoreBehaviour(open: () => Promise<BlobStoreFixture>): void {
  let fixture: BlobStoreFixture;
  let store: BlobStore;
  let scratch: string;
  /** A key space of this test alone (the store may be shared by the suite). */
  let root: string;

  beforeAll(async () => {
    fixture = await open();
    store = fixture.store;
  });
  afterAll(async () => {
    await store?.close();
    await fixture?.dispose();
  });
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'motif-blob-test-'));
    root = `t${randomBytes(4).toString('hex')}/`;
  });
  afterEach(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await store.deletePrefix(root);
  });

  itData('GIVEN a real MIDI file WHEN put, read back and fetched to a file THEN every byte is the same', async () => {
    const midiPath = midiFilesIn('midi-edge-cases', 'tonejs-midi-fixtures', 'bach')[0]!;
    const midi = readFileSync(midiPath);
    await store.putFile(`${root}corpus/bach.mid`, midiPath);
    expect((await store.get(`${root}corpus/bach.mid`)).equals(midi)).toBe(true);
    await store.getToFile(`${root}corpus/bach.mid`, join(scratch, 'copy.mid'));
    expect(readFileSync(join(scratch, 'copy.mid')).equals(midi)).toBe(true);
    expect(await store.stat(`${root}corpus/bach.mid`)).toEqual({ key: `${root}corpus/bach.mid`, bytes: midi.length });
    // putFile without `move` leaves the source alone.
    expect(existsSync(midiPath)).toBe(true);
  });

  it('GIVEN every byte value WHEN put and read back THEN nothing is re-encoded', async () => {
    const bytes = allBytes(70_000);
    await store.put(`${root}bin`, bytes);
    expect((await store.get(`${root}bin`)).equals(bytes)).toBe(true);
    await store.put(`${root}empty`, new Uint8Array(0));
    expect((await store.get(`${root}empty`)).length).toBe(0);
  });

  it('GIVEN a target folder that does not exist yet WHEN a blob is fetched to a file in it THEN the folder is made (a bot fetching a result a worker elsewhere wrote)', async () => {
    await store.put(`${root}results/r1/piece.mid`, Buffer.from('MThd'));
    const target = join(scratch, 'not', 'yet', 'there', 'piece.mid');
    await store.getToFile(`${root}results/r1/piece.mid`, target);
    expect(readFileSync(target).toString()).toBe('MThd');
  });

  it('GIVEN a blob WHEN put again under its key THEN readers get the new bytes and size', async () => {
    await store.put(`${root}a.mid`, Buffer.from('first version, longer'));
    await store.put(`${root}a.mid`, Buffer.from('second'));
    expect((await store.get(`${root}a.mid`)).toString()).toBe('second');
    expect((await store.stat(`${root}a.mid`))?.bytes).toBe(6);
    expect((await store.list(root)).map((b) => b.key)).toEqual([`${root}a.mid`]);
  });

  it('GIVEN a file put with move WHEN stored THEN the blob holds it and the source file is gone', async () => {
    const source = join(scratch, 'weights.bin');
    writeFileSync(source, allBytes(4096));
    await store.putFile(`${root}v1/weights.bin`, source, { move: true });
    expect(existsSync(source)).toBe(false);
    expect((await store.get(`${root}v1/weights.bin`)).equals(allBytes(4096))).toBe(true);
  });

  it('GIVEN no blob under a key WHEN get, getToFile or stat THEN NOT_FOUND (a MotifError with words for users), the target file is not created, and stat says undefined', async () => {
    expect(await codeOf(store.get(`${root}missing.mid`))).toBe('NOT_FOUND');
    const target = join(scratch, 'out.mid');
    expect(await codeOf(store.getToFile(`${root}missing.mid`, target))).toBe('NOT_FOUND');
    expect(readdirSync(scratch)).toEqual([]);
    expect(await store.stat(`${root}missing.mid`)).toBeUndefined();
    await store.delete(`${root}missing.mid`);
  });

  it('GIVEN keys with "_" next to look-alikes WHEN listed or deleted by prefix THEN the prefix matches literally (1_/ never matches 12/)', async () => {
    const keys = [`${root}guilds/1_/a.mid`, `${root}guilds/12/b.mid`, `${root}guilds/1/c.mid`, `${root}guilds/1_x/d.mid`, `${root}guilds/1_/sub/e.mid`];
    for (const key of keys) await store.put(key, Buffer.from(key));
    expect((await store.list(`${root}guilds/1_/`)).map((b) => b.key)).toEqual([`${root}guilds/1_/a.mid`, `${root}guilds/1_/sub/e.mid`]);
    // A prefix that ends inside a segment is a plain string prefix too.
    expect((await store.list(`${root}guilds/1_`)).map((b) => b.key)).toEqual([`${root}guilds/1_/a.mid`, `${root}guilds/1_/sub/e.mid`, `${root}guilds/1_x/d.mid`]);
    expect((await store.list(`${root}guilds/`)).map((b) => b.key)).toEqual([...keys].sort());
    expect((await store.list(`${root}guilds/1_/`))[0]?.bytes).toBe(Buffer.byteLength(`${root}guilds/1_/a.mid`));

    expect(await store.deletePrefix(`${root}guilds/1_/`)).toBe(2);
    expect((await store.list(`${root}guilds/`)).map((b) => b.key)).toEqual(keys.filter((k) => !k.includes('/1_/')).sort());
    expect(await store.deletePrefix(`${root}guilds/nothing/`)).toBe(0);
  });

  it('GIVEN hostile keys WHEN used THEN every operation refuses them before touching storage', async () => {
    const hostile = ['../x', `${root}../../x`, 'a//b', '/etc/passwd', `${root}a\u0000b`, '', `${root}`, `${root}.`, `${root}a/..`, `${root}a b`, `${root}${'x'.repeat(600)}`];
    for (const key of hostile) {
      const attempts = [() => store.put(key, Buffer.from('x')), () => store.get(key), () => store.getToFile(key, join(scratch, 'x')), () => store.stat(key), () => store.delete(key)];
      for (const attempt of attempts) {
        expect(await codeOf(attempt()), JSON.stringify(key.slice(0, 30))).toMatch(/^plain Not a blob key/);
      }
    }
    for (const prefix of ['../', '/', 'a//', `${root}../`, `${root}x`]) {
      expect(await codeOf(store.deletePrefix(prefix)), prefix).toMatch(/^plain Not a blob prefix/);
    }
    expect(await codeOf(store.list('../'))).toMatch(/^plain Not a blob list prefix/);
    expect(await store.list(root)).toEqual([]);
  });

  it('GIVEN a 5 MB blob being replaced again and again WHEN read in a loop meanwhile THEN every read is one whole version, never a mix or a part', async () => {
    const size = 5 * 1024 * 1024;
    const key = `${root}models/v/weights.bin`;
    await store.put(key, Buffer.alloc(size, 1));
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      let reads = 0;
      while (writing || reads < 2) {
        const bytes = await store.get(key);
        expect(bytes.length).toBe(size);
        const first = bytes[0]!;
        // Uniform: every byte from the same version.
        expect(bytes.equals(Buffer.alloc(size, first))).toBe(true);
        seen.add(first);
        reads++;
      }
      return reads;
    })();
    for (let version = 2; version <= 7; version++) await store.put(key, Buffer.alloc(size, version));
    writing = false;
    expect(await reader).toBeGreaterThanOrEqual(2);
    expect((await store.get(key))[0]).toBe(7);
    for (const value of seen) expect(value >= 1 && value <= 7).toBe(true);
  }, 60_000);
}
