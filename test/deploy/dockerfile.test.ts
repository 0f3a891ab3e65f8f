/**
 * Docker cannot run on the development machine, so this checks what the Dockerfile runs: its entry
 * command (node, not npm) really starts the bot, the files it copies exist, nothing at run time
 * needs a devDependency (the image installs with --omit=dev), and .dockerignore keeps secrets and
 * local state out.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };

function instructions(keyword: string): string[] {
  return dockerfile.split('\n').filter((line) => line.startsWith(`${keyword} `)).map((line) => line.slice(keyword.length + 1).trim());
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('Dockerfile', () => {
  const cmd = JSON.parse(instructions('CMD').at(-1) ?? '[]') as string[];
  const workdir = instructions('WORKDIR').at(-1) ?? '/';

  it('GIVEN the entry command WHEN read THEN it is node (the pinned one) in exec form, not npm', () => {
    expect(cmd[0]).toBe(`${workdir}/node_modules/.bin/node`);
    expect(cmd.slice(1)).toEqual(['--import', 'tsx', 'src/bot/main.ts']);
    expect(dockerfile).not.toMatch(/^(CMD|ENTRYPOINT) .*npm/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
  });

  it('GIVEN the entry command run from the project folder WHEN no token is set THEN the whole bot loads and exits 1 with one line', async () => {
    const [command, ...args] = cmd.map((part) => part.replace(`${workdir}/`, ROOT));
    // An empty .env-less environment: only what a fresh container has.
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(command!, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DISCORD_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^DISCORD_TOKEN is not set/)]);
  });

  it('GIVEN the COPY instructions WHEN checked THEN every copied path exists', () => {
    for (const copy of instructions('COPY')) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
  });

  it('GIVEN the runtime code WHEN its imports are listed THEN each package is a dependency (the image has no devDependencies)', () => {
    const runtime = { ...pkg.dependencies, ...pkg.optionalDependencies };
    const missing = new Set<string>();
    for (const file of [...filesUnder(join(ROOT, 'src')), ...filesUnder(join(ROOT, 'commands'))]) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:^import|^export)[^'"]*from '([^'.][^']*)'|import\('([^'.][^']*)'\)/gm)) {
        const specifier = match[1] ?? match[2]!;
        if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        const typeOnly = /^import type /.test(match[0]);
        if (!typeOnly && !(name in runtime)) missing.add(`${name} (${file.slice(ROOT.length)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});

describe('.dockerignore', () => {
  it('GIVEN the ignore list WHEN read THEN secrets, local state and the host node_modules stay out of the image', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'data/', 'node_modules/', '.git/', 'out/']) expect(ignored).toContain(entry);
  });
});
