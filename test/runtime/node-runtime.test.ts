/**
 * The Node that runs the tests is the one the project pins (package.json `node` dependency,
 * `engines`, `.nvmrc`), and every native module loads on it: a Node upgrade that breaks a prebuilt
 * binary fails here, not at a user's first /compose.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
const nvmrc = readFileSync(new URL('../../.nvmrc', import.meta.url), 'utf8').trim();

describe('the pinned Node runtime', () => {
  it('GIVEN npm test WHEN it runs THEN it runs on the Node pinned in package.json and .nvmrc', () => {
    // Printed so a log of `npm test` shows which Node really ran it.
    console.log(`node ${process.version} (${process.execPath})`);
    const pinned = pkg.dependencies.node;
    expect(pinned, 'package.json pins node as a dependency').toBeDefined();
    expect(process.version).toBe(`v${pinned}`);
    expect(nvmrc).toBe(pinned);
    const major = Number(process.versions.node.split('.')[0]);
    expect(pkg.engines.node).toBe(`>=${major}`);
  });

  it('GIVEN the pinned Node WHEN the native modules load THEN sqlite3, @napi-rs/canvas and @snazzah/davey work', async () => {
    const sqlite3 = require('sqlite3') as typeof import('sqlite3');
    const db = new sqlite3.Database(':memory:');
    const row = await new Promise<{ answer: number }>((resolve, reject) =>
      db.get('SELECT 6 * 7 AS answer', (error: Error | null, r: { answer: number }) => (error ? reject(error) : resolve(r))),
    );
    db.close();
    expect(row.answer).toBe(42);

    const { createCanvas } = await import('@napi-rs/canvas');
    const canvas = createCanvas(4, 4);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ff0000';
    ctx.fillRect(0, 0, 4, 4);
    const png = canvas.toBuffer('image/png');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    const davey = (await import('@snazzah/davey')) as { DAVE_PROTOCOL_VERSION?: number; DAVESession?: unknown };
    expect(davey.DAVE_PROTOCOL_VERSION).toBeGreaterThanOrEqual(1);
    expect(typeof davey.DAVESession).toBe('function');
  });
});
