/**
 * The shared datasets, found relative to the project root (`../shared/datasets`), never by an
 * absolute path, so a fresh clone anywhere with `../shared` beside it runs every test.
 *
 * When the folder is absent, data-dependent tests are skipped and ONE line per test file says so
 * ("SKIPPED …"), unless CI=true: CI must never silently skip, so there the tests run and fail with
 * a message naming the missing folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of `../shared/datasets` next to this checkout (override: MOTIF_DATASETS_DIR, for tests of this helper). */
export const DATASETS_DIR = resolve(PROJECT_ROOT, process.env.MOTIF_DATASETS_DIR ?? '../shared/datasets');

const present = existsSync(DATASETS_DIR);
const inCi = process.env.CI === 'true';

/** True when data tests run: the folder exists, or CI=true (where a missing folder must fail). */
export const RUN_DATA_TESTS = present || inCi;

const announced = new Set<string>();

/**
 * Path of a file or folder inside the datasets (it may not exist: use it only inside `itData`). */
export function datasetPath(...parts: string[]): string {
  return join(DATASETS_DIR, ...parts);
}

function announceSkip(caller: string): void {
  if (present || inCi || announced.has(caller)) return;
  announced.add(caller);
  const file = relative(PROJECT_ROOT, fileURLToPath(caller));
  // process.stderr directly: one line, not vitest's multi-line console capture block.
  process.stderr.write(`SKIPPED ${file}: data tests need ${relative(PROJECT_ROOT, DATASETS_DIR)} (absent; CI=true would fail instead)\n`);
}

/**
 * `it` / `describe` for tests that need the datasets. Pass the test file's `import.meta.url`.
 * Under CI=true they always run (a missing folder then fails them with ENOENT naming the path).
 * @example const { itData } = withDatasets(import.meta.url);
 */
export function withDatasets(caller: string): { itData: ReturnType<typeof it.runIf>; describeData: ReturnType<typeof describe.runIf> } {
  if (!RUN_DATA_TESTS) announceSkip(caller);
  return { itData: it.runIf(RUN_DATA_TESTS), describeData: describe.runIf(RUN_DATA_TESTS) };
}

/** Sorted `.mid` files of a dataset folder, or [] when the datasets are absent (the tests using them are skipped). */
export function midiFilesIn(...parts: string[]): string[] {
  const dir = datasetPath(...parts);
  // Absent outside CI: the tests using the list are skipped. Under CI, readdirSync fails loudly.
  if (!present && !inCi) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.mid')).sort().map((f) => join(dir, f));
}
