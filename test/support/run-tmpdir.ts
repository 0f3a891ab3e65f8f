/**
 * vitest globalSetup: each test run gets its own temporary folder, TMPDIR for the test processes and
 * everything they start, removed when the run ends. Helpers that make temporary corpora and models,
 * and tests that kill a worker mid-job, then leave nothing in the machine's tmpdir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'motif-test-run-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
