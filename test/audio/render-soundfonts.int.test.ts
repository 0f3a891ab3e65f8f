import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { renderNormalizedPcm, renderPiece } from '../../src/audio/render-piece.js';
import { listSoundfonts, loadSoundfont, resolveSoundfont } from '../../src/audio/soundfonts.js';
import { decodeStereo, rmsOf, smallPiece } from './render-helpers.js';

let dir: string;
let fontDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-sf-'));
  fontDir = join(dir, 'soundfonts');
  await rm(fontDir, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(fontDir);
  // A real bank under a new name: the smallest bundled one, copied as a user would drop it in.
  await copyFile(resolveSoundfont('TimGM6mb').path, join(fontDir, 'MyFont.sf3'));
  await writeFile(join(fontDir, 'notes.txt'), 'not a soundfont');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SoundFont selection', () => {
  it('GIVEN no folder WHEN listing THEN the three bundled banks are there and are real SF2-family RIFF files', async () => {
    const names = listSoundfonts().map((f) => f.name);
    expect(names).toEqual(['FluidR3Mono_GM', 'MuseScore_General_Lite', 'TimGM6mb']);
    const { readFile } = await import('node:fs/promises');
    for (const f of listSoundfonts()) {
      const head = (await readFile(f.path)).subarray(0, 12).toString('latin1');
      expect(head.slice(0, 4)).toBe('RIFF');
      expect(head.slice(8, 12)).toBe('sfbk');
    }
  });

  it('GIVEN an unknown name WHEN rendering THEN SOUNDFONT_NOT_FOUND names the available fonts and nothing is written', async () => {
    const out = join(dir, 'unknown');
    const error = await renderPiece(smallPiece(1), { outDir: out, baseName: 'x', soundfont: 'Nope', soundfontDir: fontDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('SOUNDFONT_NOT_FOUND');
    expect((error as MotifError).userMessage).toContain('MyFont');
    expect((error as MotifError).userMessage).toContain('FluidR3Mono_GM');
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('GIVEN a .sf3 dropped into the folder WHEN listed and selected by name THEN it is used for rendering', async () => {
    const listed = listSoundfonts(fontDir);
    expect(listed[0]).toMatchObject({ name: 'MyFont', source: 'folder' });
    expect(listed.map((f) => f.name)).not.toContain('notes');

    const out = join(dir, 'custom');
    const result = await renderPiece(smallPiece(1), { outDir: out, baseName: 'custom', soundfont: 'myfont', soundfontDir: fontDir, pianoRoll: false });
    expect(result.soundfont).toBe('MyFont');
    const audio = await decodeStereo(result.audioPath!);
    expect(20 * Math.log10(rmsOf(audio.left, audio.right))).toBeGreaterThan(-30);

    // The custom bank (TimGM6mb samples) really sounds different from the default bank.
    const mine = await renderNormalizedPcm(smallPiece(1), { soundfont: 'MyFont', soundfontDir: fontDir, reverb: false });
    const fluid = await renderNormalizedPcm(smallPiece(1), { reverb: false });
    let diff = 0;
    for (let i = 0; i < mine.left.length; i++) diff += Math.abs(mine.left[i]! - fluid.left[i]!);
    expect(diff / mine.left.length).toBeGreaterThan(0.01);
  });

  it('GIVEN a bank loaded twice WHEN loading THEN the parsed bank is cached', () => {
    expect(loadSoundfont('MyFont', fontDir).bank).toBe(loadSoundfont('MYFONT.sf3', fontDir).bank);
  });

  it('GIVEN a corrupt .sf2 in the folder WHEN selected THEN SOUNDFONT_INVALID', async () => {
    await writeFile(join(fontDir, 'Broken.sf2'), Buffer.from('RIFF\u0000\u0000\u0000\u0000sfbkgarbage'));
    expect(() => loadSoundfont('Broken', fontDir)).toThrowError(expect.objectContaining({ code: 'SOUNDFONT_INVALID' }) as Error);
  });
});
