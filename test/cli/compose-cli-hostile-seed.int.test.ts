/**
 * Issue 13 part 1 through the real CLI process: the 20-byte RMID that once made
 * `npm run compose -- --seed` never return now ends it with one plain line and exit code 1.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-hostile-seed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run compose -- --seed with a hostile RMID', () => {
  it('GIVEN RIFF/RMID with a JUNK chunk of size F8 FF FF FF WHEN composed from THEN exit 1 with one line and nothing written', async () => {
    const seed = join(dir, 'hostile.rmi');
    await writeFile(seed, Buffer.from([...Buffer.from('RIFF'), 12, 0, 0, 0, ...Buffer.from('RMIDJUNK'), 0xf8, 0xff, 0xff, 0xff]));
    const out = join(dir, 'out');
    const { code, stderr } = await runCli('compose', ['--seed', seed, '--length', '10', '--out', out]);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'This RMID file is broken: a "JUNK" block says it is 4,294,967,288 bytes long, past the end of the file, before any MIDI data.',
    ]);
    // Not even an empty folder: the run created it, and took it back when it failed.
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
