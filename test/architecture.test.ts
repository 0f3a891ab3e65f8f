/**
 * The dependency arrows STYLE.md draws, checked on every import statement of every .ts file under
 * src/ and commands/ (static, re-export, side-effect and dynamic imports; type-only ones too, since
 * they couple the modules all the same). A failure names the file and the import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * The files that put the bot and its commands together (startBot and deployCommands take the
 * command list; only these entry points import commands/). They sit above every folder.
 */
const COMPOSITION_ROOTS = ['src/bot/main.ts', 'src/bot/deploy-commands.ts'];

/** Imports that break a rule but belong to files other work is rewriting: `from → to`, each with why. */
const KNOWN_EXCEPTIONS: readonly string[] = [];

interface Import {
  from: string;
  /** A path relative to ROOT (no extension change) for relative imports, else the package name. */
  to: string;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path.split(sep).join('/')] : [];
  });
}

/** Import specifiers of one source text (comments removed first, so prose about imports is not one). */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

function importsOf(file: string): Import[] {
  return importSpecifiers(readFileSync(join(ROOT, file), 'utf8')).map((spec) => ({
    from: file,
    to: spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts') : spec,
  }));
}

/** Uses of the context's stores and queue in a source text (comments removed first). */
function directStoreUses(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(/\bctx\.(storage|queue|blobs|jobBlobs)\b/g)].map((m) => m[0]);
}

/** The layer a file belongs to: `src/<folder>`, a top-level file of src/, `commands`, or the composition root. */
function layerOf(file: string): string {
  if (COMPOSITION_ROOTS.includes(file)) return 'composition root';
  const parts = file.split('/');
  if (parts[0] === 'src' && parts.length > 2) return `src/${parts[1]}`;
  return parts[0] === 'src' ? file : parts[0]!;
}

const isPackage = (to: string): boolean => !to.startsWith('src/') && !to.startsWith('commands/') && !to.startsWith('test/') && !to.startsWith('bench/');
const DISCORD = (to: string): boolean => to === 'discord.js' || to.startsWith('@discordjs/');
const TENSORFLOW = (to: string): boolean => to.startsWith('@tensorflow/');
const under = (folder: string) => (path: string): boolean => path.startsWith(`${folder}/`);

const FILES = [...tsFiles('src'), ...tsFiles('commands')];
const IMPORTS = FILES.flatMap(importsOf);

/** Imports from files in `fromFolders` that `forbidden` matches, as `from → to`, minus KNOWN_EXCEPTIONS. */
function violations(fromFolders: readonly string[], forbidden: (to: string) => boolean, opts: { except?: readonly string[] } = {}): string[] {
  return IMPORTS.filter((i) => fromFolders.some((f) => under(f)(i.from)) && !opts.except?.includes(i.from) && forbidden(i.to))
    .map((i) => `${i.from} → ${i.to}`)
    .filter((v) => !KNOWN_EXCEPTIONS.includes(v));
}

/** Groups of layers that import each other, directly or round a loop (Tarjan's strongly connected components). */
function layerCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        group.push(member);
      } while (member !== node);
      if (group.length > 1) cycles.push(group.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

function layerEdges(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const i of IMPORTS) {
    if (isPackage(i.to) || KNOWN_EXCEPTIONS.includes(`${i.from} → ${i.to}`)) continue;
    const from = layerOf(i.from);
    const to = layerOf(i.to);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  }
  return edges;
}

describe('architecture: who may import whom', () => {
  it('GIVEN the import reader WHEN run on known files THEN it finds their imports (so an empty violation list means something)', () => {
    expect(FILES).toContain('src/bot/start.ts');
    expect(importsOf('src/bot/start.ts').map((i) => i.to)).toEqual(expect.arrayContaining(['discord.js', 'src/jobs/create-queue.ts']));
    expect(importsOf('commands/seed.ts').map((i) => i.to)).toEqual(expect.arrayContaining(['src/bot/command.ts', 'src/guild/seeds.ts']));
    expect(importsOf('commands/corpus.ts').map((i) => i.to)).toContain('src/guild/corpus.ts');
    expect(importsOf('src/guild/training.ts').map((i) => i.to)).toContain('src/storage/blobs/local-blob-store.ts');
    expect(importSpecifiers("import type {\n  A,\n} from './a.js';\nexport { b } from \"./b.js\";\nimport './c.js';\nconst d = await import('./d.js');")).toEqual(['./a.js', './b.js', './d.js', './c.js']);
    expect(importSpecifiers("/** import x from 'nope' */\n// import y from 'nope'\n")).toEqual([]);
  });

  it('GIVEN src/music WHEN its imports are read THEN neither TensorFlow, nor discord.js, nor src/bot', () => {
    expect(violations(['src/music'], (to) => TENSORFLOW(to) || DISCORD(to) || under('src/bot')(to))).toEqual([]);
  });

  it('GIVEN the layers below the bot (guild, jobs, ml, audio, music, storage) WHEN their imports are read THEN nothing from src/bot, commands/ or Discord', () => {
    const below = ['src/guild', 'src/jobs', 'src/ml', 'src/audio', 'src/music', 'src/storage'];
    expect(violations(below, (to) => DISCORD(to) || under('src/bot')(to) || under('commands')(to))).toEqual([]);
  });

  it('GIVEN the worker process, the operator endpoint and the shared utilities (src/worker, src/ops, src/util) WHEN their imports are read THEN nothing from src/bot, commands/ or Discord: a worker machine runs no Discord code', () => {
    expect(violations(['src/worker', 'src/ops', 'src/util'], (to) => DISCORD(to) || under('src/bot')(to) || under('commands')(to))).toEqual([]);
  });

  it('GIVEN the job layer WHEN its imports are read THEN it never reaches the operator endpoint (the queues report through the QueueObserver they are given)', () => {
    expect(violations(['src/jobs'], (to) => under('src/ops')(to))).toEqual([]);
  });

  it('GIVEN commands/ WHEN their imports are read THEN stores and jobs are reached only through src/guild or src/bot (the style list aside: it fills option choices)', () => {
    const STYLE_LIST = 'src/jobs/styles.ts';
    expect(violations(['commands'], (to) => under('src/storage')(to) || (under('src/jobs')(to) && to !== STYLE_LIST))).toEqual([]);
  });

  it('GIVEN commands/ WHEN their code is read THEN none reaches the stores, the blob store or the queue through the context either (each calls a use-case or a src/bot adapter)', () => {
    expect(directStoreUses('const jobs = await ctx.queue.list({ guildId });\nawait ctx.storage.settings.get(id); ctx.blobs.get(k); ctx.jobBlobs')).toEqual(['ctx.queue', 'ctx.storage', 'ctx.blobs', 'ctx.jobBlobs']);
    const uses = tsFiles('commands').flatMap((file) => directStoreUses(readFileSync(join(ROOT, file), 'utf8')).map((use) => `${file}: ${use}`));
    expect(uses).toEqual([]);
  });

  it('GIVEN src/bot WHEN its imports are read THEN only the composition roots import commands/', () => {
    expect(violations(['src/bot'], under('commands'), { except: COMPOSITION_ROOTS })).toEqual([]);
    for (const root of COMPOSITION_ROOTS) expect(FILES, `composition root ${root} exists`).toContain(root);
  });

  it('GIVEN every file outside src/ml WHEN its imports are read THEN none imports TensorFlow.js (src/ml/tf.ts picks the backend once)', () => {
    const outsideMl = ['src', 'commands'];
    expect(violations(outsideMl, TENSORFLOW).filter((v) => !under('src/ml')(v))).toEqual([]);
  });

  it('GIVEN the imports between top-level folders WHEN followed THEN they never come back round (no cycles)', () => {
    expect(layerCycles(layerEdges())).toEqual([]);
  });

  it('GIVEN two folders importing each other, or three in a loop WHEN checked THEN the cycle is reported', () => {
    const graph = (pairs: [string, string][]): Map<string, Set<string>> => {
      const edges = new Map<string, Set<string>>();
      for (const [a, b] of pairs) edges.set(a, (edges.get(a) ?? new Set()).add(b));
      return edges;
    };
    expect(layerCycles(graph([['bot', 'commands'], ['commands', 'bot'], ['bot', 'jobs']]))).toEqual([['bot', 'commands']]);
    expect(layerCycles(graph([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]))).toEqual([['a', 'b', 'c']]);
    expect(layerCycles(graph([['a', 'b'], ['b', 'c']]))).toEqual([]);
  });
});
