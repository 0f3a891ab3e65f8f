/**
 * README's command table is checked against the registered command definitions in commands/:
 * every command and subcommand is listed, nothing listed is missing from Discord, option names are
 * real, and the registration rules the README states hold (guild-only; only /train hidden from members).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.js';

interface OptionJson {
  type: number;
  name: string;
  options?: OptionJson[];
}
interface CommandJson {
  name: string;
  options?: OptionJson[];
  contexts?: number[];
  default_member_permissions?: string | null;
}

const SUBCOMMAND = 1;
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### Commands'), readme.indexOf('### Voice'));
const rows = section.split('\n').filter((line) => line.startsWith('| `/'));
const definitions = COMMANDS.map((c) => c.data.toJSON() as CommandJson);

/** "name sub" (or "name") → option names, from the definitions. */
function registered(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const command of definitions) {
    const subs = (command.options ?? []).filter((o) => o.type === SUBCOMMAND);
    if (subs.length === 0) out.set(command.name, (command.options ?? []).map((o) => o.name));
    for (const sub of subs) out.set(`${command.name} ${sub.name}`, (sub.options ?? []).map((o) => o.name));
  }
  return out;
}

/** "name sub" → the words after it in README (`…` means "options not spelled out"). */
function documented(): Map<string, string[]> {
  const known = registered();
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const first = row.split(' | ')[0]!;
    for (const [, text] of first.matchAll(/`\/([^`]+)`/g)) {
      const words = text!.trim().split(/\s+/);
      const key = known.has(`${words[0]} ${words[1]}`) ? `${words[0]} ${words[1]}` : (words[0] ?? '');
      const rest = words.slice(key.split(' ').length);
      expect(out.has(key), `/${key} is listed twice`).toBe(false);
      out.set(key, rest);
    }
  }
  return out;
}

describe('README command table', () => {
  it('GIVEN the table and the definitions WHEN compared THEN the same commands and subcommands, with real option names', () => {
    const real = registered();
    const listed = documented();
    expect([...listed.keys()].sort()).toEqual([...real.keys()].sort());
    for (const [key, words] of listed) {
      if (words.length === 1 && words[0] === '…') continue;
      expect(words, `/${key}`).toEqual(real.get(key));
    }
  });

  it('GIVEN the registration WHEN read THEN every command is guild-only and only /train carries default member permissions', () => {
    for (const command of definitions) expect(command.contexts, command.name).toEqual([0]);
    const restricted = definitions.filter((c) => c.default_member_permissions !== undefined && c.default_member_permissions !== null).map((c) => c.name);
    expect(restricted).toEqual(['train']);
    const trainRow = rows.find((r) => r.startsWith('| `/train'));
    expect(trainRow).toMatch(/\| Manage Server \|/);
    const settingsRow = rows.find((r) => r.startsWith('| `/settings'));
    expect(settingsRow).toMatch(/view: everyone/);
  });
});
