/**
 * Every CLI error case of issue 12, run through the real CLI processes: one line naming the flag,
 * the documented exit code, nothing destroyed, nothing hanging.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_CLI } from '../../src/cli/compose.js';
import type { CliDefinition, OptionSpec } from '../../src/cli/define-cli.js';
import { EVAL_CLI } from '../../src/cli/eval.js';
import { ENSEMBLE_CLI } from '../../src/cli/ensemble.js';
import { FIT_CACHE_CLI } from '../../src/cli/fit-cache.js';
import { FUZZ_CLI } from '../../src/cli/fuzz.js';
import { RENDER_CLI } from '../../src/cli/render.js';
import { TRAIN_CLI } from '../../src/cli/train.js';
import { TRANSCRIBE_CLI } from '../../src/cli/transcribe.js';
import { runCli } from '../support/run-cli.js';

const SHIPPED_MODEL = fileURLToPath(new URL('../../models/default', import.meta.url));
/** Far above a healthy refusal (well under a second of work); only a hang reaches it. */
const HANG_GUARD_MS = 90_000;

let dir: string;
let aFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-cli-errors-'));
  aFile = join(dir, 'a-file.txt');
  await writeFile(aFile, 'not a folder');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Hash of every file under `path` (sub-folders such as samples/ included), names and contents. */
async function folderHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(path, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  for (const file of files) hash.update(file).update(await readFile(file));
  return hash.digest('hex');
}

/** One line on stderr, no stack frames. */
function expectOneLine(stderr: string): void {
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('CLI error cases (issue 12)', () => {
  it('GIVEN train --out models/default (the shipped model) WHEN run THEN exit 2, one line, and the model and its card are untouched', async () => {
    const before = await folderHash(SHIPPED_MODEL);
    const { code, stderr } = await runCli('train', ['--data', dir, '--out', SHIPPED_MODEL, '--epochs', '1']);
    expect(code).toBe(2);
    expectOneLine(stderr);
    expect(stderr).toMatch(/--out .* is the shipped default model.*--force/);
    // --resume is no way around it either.
    const resumed = await runCli('train', ['--data', dir, '--out', SHIPPED_MODEL, '--resume']);
    expect(resumed.code).toBe(2);
    expect(await folderHash(SHIPPED_MODEL)).toBe(before);
    expect((await readdir(SHIPPED_MODEL)).includes('MODEL_CARD.md')).toBe(true);
  });

  it('GIVEN train into a non-empty folder, --resume with nothing to resume, or --epochs 0 WHEN run THEN exit 2 naming the flag, nothing written', async () => {
    const used = join(dir, 'used');
    await mkdir(used);
    await writeFile(join(used, 'keep.txt'), 'mine');
    const cases: [string[], RegExp][] = [
      [['--out', used], /^--out .*used is not empty; .*--resume.*--force/],
      [['--out', join(dir, 'fresh'), '--resume'], /^--resume: no interrupted run to continue/],
      [['--out', join(dir, 'fresh'), '--epochs', '0'], /^--epochs must be a whole number from 1 to 10000 \(got 0\)/],
      [['--out', aFile], /^--out must be a folder, but .*a-file\.txt is a file/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli('train', ['--data', dir, ...args]);
      expect(code, args.join(' ')).toBe(2);
      expectOneLine(stderr);
      expect(stderr).toMatch(message);
    }
    expect(await readFile(join(used, 'keep.txt'), 'utf8')).toBe('mine');
    expect(await readdir(dir)).not.toContain('fresh');
  });

  it('GIVEN eval --samples -1 WHEN run THEN exit 2 with the allowed range, not empty tables and exit 0', async () => {
    const { code, stdout, stderr } = await runCli('eval', ['--model', SHIPPED_MODEL, '--data', dir, '--samples', '-1', '--json']);
    expect(code).toBe(2);
    expectOneLine(stderr);
    expect(stderr).toMatch(/^--samples must be a whole number from 0 to 10000 \(got -1\)/);
    expect(stdout).toBe('');
  });

  it('GIVEN --out pointing at a file, or at /proc/x, WHEN compose, render or transcribe run THEN exit 2 with one line (no stack, no hang)', async () => {
    const midi = fileURLToPath(new URL('../jobs/fixtures', import.meta.url));
    const cases: [string, string[], RegExp][] = [
      ['compose', ['--out', aFile], /^--out must be a folder, but .*a-file\.txt is a file/],
      ['compose', ['--out', '/proc/x'], /^--out \/proc\/x: cannot create the folder/],
      ['render', [join(midi, 'missing.mid'), '--out', aFile], /^--out must be a folder/],
      ['transcribe', [join(dir, 'x.mp3'), '--out', join(aFile, 'sub')], /^--out .*a-file\.txt is a file, not a folder/],
    ];
    for (const [cli, args, message] of cases) {
      const { code, stderr } = await runCli(cli, args, {}, { killAfterMs: HANG_GUARD_MS });
      expect(code, `${cli} ${args.join(' ')}: ${stderr}`).toBe(2);
      expectOneLine(stderr);
      expect(stderr).toMatch(message);
    }
  });

  it('GIVEN bad values for compose, render, transcribe and fuzz WHEN run THEN exit 2 with one line naming the flag and its range', async () => {
    const cases: [string, string[], RegExp][] = [
      ['compose', ['--length', '0'], /^--length must be a whole number from 1 to 2000 \(got 0\)/],
      ['compose', ['--length', '2001'], /^--length must be a whole number from 1 to 2000/],
      ['compose', ['--temperature', '0'], /^--temperature must be a number from 0\.05 to 5/],
      ['compose', ['--tempo', 'fast'], /^--tempo must be a whole number from 20 to 300 \(got fast\)/],
      ['compose', ['--lenght', '10'], /^unknown option --lenght/],
      ['render', ['--out', dir], /^IN\.mid is required/],
      ['transcribe', ['x.mp3', '--out', dir, '--qpm', '10'], /^--qpm must be a number from 20 to 400 \(got 10\)/],
      ['transcribe', ['x.mp3'], /^--out is required/],
      ['fuzz', ['--n', '0'], /^--n must be a whole number from 1 to 1000000 \(got 0\)/],
      ['fuzz', ['--only', '3,x'], /^--only must be case numbers separated by commas/],
      ['ensemble', ['--model', dir, '--data', dir], /^--add or --transpose is required/],
      ['ensemble', ['--model', dir, '--data', dir, '--transpose', '7'], /^--transpose must be a whole number from 1 to 6 \(got 7\)/],
      ['ensemble', ['--model', dir, '--add', dir], /^--data is required/],
      ['train', ['--data', dir, '--out', join(dir, 'new'), '--train-on-valid', '--patience', '2'], /^--patience needs validation pieces to stop on/],
      ['ensemble', ['--model', dir, '--refit', dir, '--data', dir], /^--refit swaps the networks and keeps everything fitted; it takes no --add, --transpose or --data/],
    ];
    for (const [cli, args, message] of cases) {
      const { code, stderr } = await runCli(cli, args);
      expect(code, `${cli} ${args.join(' ')}`).toBe(2);
      expectOneLine(stderr);
      expect(stderr).toMatch(message);
    }
  });
});

describe('--help comes from the one definition', () => {
  const clis: [string, CliDefinition<Record<string, OptionSpec>>][] = [
    ['compose', COMPOSE_CLI],
    ['render', RENDER_CLI],
    ['transcribe', TRANSCRIBE_CLI],
    ['train', TRAIN_CLI],
    ['eval', EVAL_CLI],
    ['fuzz', FUZZ_CLI],
    ['fit-cache', FIT_CACHE_CLI],
    ['ensemble', ENSEMBLE_CLI],
  ];
  it.each(clis)('GIVEN npm run %s -- --help WHEN run THEN exit 0 and every option is listed with its description and default', async (name, def) => {
    const { code, stdout } = await runCli(name, ['--help']);
    expect(code).toBe(0);
    for (const [option, spec] of Object.entries(def.options)) {
      const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`--${option} `) || l.trim() === `--${option}`) ?? '';
      expect(line, `--${option}`).toContain(spec.description);
      if (spec.type !== 'boolean' && spec.default !== undefined) expect(line).toContain(`default ${String(spec.default)}`);
    }
  });
});
