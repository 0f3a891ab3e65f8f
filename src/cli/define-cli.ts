/**
 * One way to define a CLI: each option is declared once (name, type, range, default, description)
 * and the usage line, `--help`, parsing and validation all come from that declaration.
 *
 * Exit codes shared by every Motif CLI: 0 ok, 1 a problem with an input's content or the
 * filesystem (one line), 2 a bad option value or combination (one line naming the flag and what is
 * allowed), 3 a bug (stack printed).
 */
import { parseArgs } from 'node:util';

interface Described {
  /** One line for `--help`. */
  description: string;
  /** Shown in usage, e.g. DIR, N, T (default derived from the type). */
  placeholder?: string;
}

export interface IntOption extends Described {
  type: 'int';
  min: number;
  max: number;
  default?: number;
}
export interface NumberOption extends Described {
  type: 'number';
  min: number;
  max: number;
  default?: number;
}
export interface StringOption extends Described {
  type: 'string';
  default?: string;
  /** The only values allowed, when the option is an enumeration. */
  choices?: readonly string[];
  required?: boolean;
  /** Can be given more than once (value is then a string array). */
  multiple?: boolean;
}
export interface BooleanOption extends Described {
  type: 'boolean';
}

export type OptionSpec = IntOption | NumberOption | StringOption | BooleanOption;

export interface PositionalSpec {
  /** Shown in usage, e.g. IN.mid. */
  name: string;
  description: string;
  /** When true the CLI checks for it itself (e.g. render's --list-soundfonts needs no input). */
  optional?: boolean;
}

export interface CliDefinition<O extends Record<string, OptionSpec>> {
  /** The npm script name, e.g. "compose". */
  name: string;
  /** One line saying what the CLI does, first in `--help`. */
  summary: string;
  /** At most one input file, required unless `optional`. */
  positional?: PositionalSpec;
  options: O;
  /** Extra lines at the end of `--help` (exit codes, examples). */
  notes?: readonly string[];
}

type ValueOf<S extends OptionSpec> = S extends IntOption | NumberOption
  ? number
  : S extends BooleanOption
    ? boolean
    : S extends { multiple: true }
      ? string[]
      : S extends { choices: readonly (infer C)[] }
        ? C
        : string;

type Present<S extends OptionSpec> = S extends BooleanOption ? true : S extends { default: unknown } ? true : S extends { required: true } ? true : false;

export type CliValues<O extends Record<string, OptionSpec>> = {
  -readonly [K in keyof O]: Present<O[K]> extends true ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface ParsedCli<O extends Record<string, OptionSpec>> {
  values: CliValues<O>;
  /** The positional input, when the definition declares one. */
  input: string | undefined;
}

/** A bad option: one line for the user, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Defines a CLI (identity, for type inference of the options). */
export function defineCli<const O extends Record<string, OptionSpec>>(def: CliDefinition<O>): CliDefinition<O> {
  return def;
}

/**
 * Parses argv against the definition.
 * @returns the values, or 'help' when --help/-h was given.
 * @throws UsageError naming the flag and what it allows.
 */
export function parseCli<O extends Record<string, OptionSpec>>(def: CliDefinition<O>, argv: readonly string[]): ParsedCli<O> | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(def.options)) {
    options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.type === 'string' && spec.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: def.positional !== undefined, strict: true });
  } catch (error) {
    throw new UsageError(`${plainParseError((error as Error).message)} (see npm run ${def.name} -- --help)`);
  }
  if (parsed.values.help) return 'help';
  if (def.positional) {
    if (parsed.positionals.length > 1) throw new UsageError(`only one ${def.positional.name} is allowed (got ${parsed.positionals.length})`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(def.options)) values[name] = convert(name, spec, parsed.values[name]);
  const input = parsed.positionals[0];
  if (def.positional && !def.positional.optional && input === undefined) throw new UsageError(`${def.positional.name} is required: ${def.positional.description}`);
  return { values: values as CliValues<O>, input };
}

/**
 * `--samples -1` would be refused by node:util as "ambiguous"; a negative number after a flag that
 * takes a value is that value (`--samples=-1`), so the range check can name the flag and its range.
 */
function joinNegativeValues(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function convert(name: string, spec: OptionSpec, raw: unknown): unknown {
  const flag = `--${name}`;
  if (spec.type === 'boolean') return raw === true;
  if (raw === undefined) {
    if (spec.type === 'string' && spec.required) throw new UsageError(`${flag} is required: ${spec.description}`);
    return spec.default;
  }
  if (spec.type === 'string') {
    const list = Array.isArray(raw) ? (raw as string[]) : [raw as string];
    for (const value of list) {
      if (value.trim() === '') throw new UsageError(`${flag} must not be empty`);
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`${flag} must be one of ${spec.choices.join(', ')} (got ${value})`);
    }
    return raw;
  }
  const text = String(raw).trim();
  const value = text === '' ? Number.NaN : Number(text);
  const ok = Number.isFinite(value) && value >= spec.min && value <= spec.max && (spec.type === 'number' || Number.isInteger(value));
  if (!ok) throw new UsageError(`${flag} must be ${rangeText(spec)} (got ${String(raw)})`);
  return value;
}

function rangeText(spec: IntOption | NumberOption): string {
  const kind = spec.type === 'int' ? 'a whole number' : 'a number';
  if (spec.max === Number.MAX_SAFE_INTEGER) return `${kind} ≥ ${spec.min}`;
  return `${kind} from ${spec.min} to ${spec.max}`;
}

/** node:util's messages mention parseArgs internals; keep only what the user typed. */
function plainParseError(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) return `unexpected argument ${positional[1]}`;
  return message.split('\n')[0] ?? message;
}

/** The one-paragraph usage line(s), from the definition. */
export function usageText<O extends Record<string, OptionSpec>>(def: CliDefinition<O>): string {
  const parts: string[] = [];
  if (def.positional) parts.push(def.positional.optional ? `[${def.positional.name}]` : def.positional.name);
  for (const [name, spec] of Object.entries(def.options)) {
    const token = spec.type === 'boolean' ? `--${name}` : `--${name} ${placeholderOf(spec)}`;
    const required = spec.type === 'string' && spec.required;
    parts.push(required ? token : `[${token}]`);
    if (spec.type === 'string' && spec.multiple) parts.push(`[${token}…]`);
  }
  const lines: string[] = [];
  let line = `usage: npm run ${def.name} --`;
  for (const part of parts) {
    if (line.length + part.length + 1 > 100) {
      lines.push(line);
      line = '        ';
    }
    line += ` ${part}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `--help`: summary, usage, then every option with its range/choices and default. */
export function helpText<O extends Record<string, OptionSpec>>(def: CliDefinition<O>): string {
  const rows: [string, string][] = [];
  if (def.positional) rows.push([def.positional.name, def.positional.description]);
  for (const [name, spec] of Object.entries(def.options)) {
    const left = spec.type === 'boolean' ? `--${name}` : `--${name} ${placeholderOf(spec)}`;
    const facts: string[] = [];
    if (spec.type === 'int' || spec.type === 'number') facts.push(spec.max === Number.MAX_SAFE_INTEGER ? `≥ ${spec.min}` : `${spec.min}–${spec.max}`);
    if (spec.type === 'string' && spec.choices) facts.push(spec.choices.join('|'));
    if (spec.type === 'string' && spec.required) facts.push('required');
    if (spec.type === 'string' && spec.multiple) facts.push('repeatable');
    if (spec.type !== 'boolean' && spec.default !== undefined) facts.push(`default ${String(spec.default)}`);
    rows.push([left, facts.length > 0 ? `${spec.description} (${facts.join('; ')})` : spec.description]);
  }
  rows.push(['-h, --help', 'this help']);
  const width = Math.min(28, Math.max(...rows.map(([left]) => left.length)));
  const body = rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
  return [def.summary, '', usageText(def), '', ...body, ...(def.notes?.length ? ['', ...def.notes] : [])].join('\n');
}

function placeholderOf(spec: OptionSpec): string {
  if (spec.placeholder) return spec.placeholder;
  if (spec.type === 'string' && spec.choices) return spec.choices.join('|');
  if (spec.type === 'int') return 'N';
  if (spec.type === 'number') return 'X';
  return 'VALUE';
}

/** Common note printed at the end of every `--help`. */
export const EXIT_CODES_NOTE = 'exit codes: 0 ok, 1 a problem with an input file or the filesystem, 2 a bad option, 3 a bug';
