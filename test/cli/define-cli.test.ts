/** The one CLI definition drives parsing, validation, usage and --help. */
import { describe, expect, it } from 'vitest';
import { defineCli, helpText, parseCli, UsageError, usageText } from '../../src/cli/define-cli.js';

const DEF = defineCli({
  name: 'demo',
  summary: 'A demo CLI.',
  positional: { name: 'IN.mid', description: 'the input' },
  options: {
    length: { type: 'int', min: 1, max: 2000, default: 100, description: 'notes' },
    temperature: { type: 'number', min: 0.05, max: 5, description: 'heat' },
    arch: { type: 'string', choices: ['lm', 'seed'], default: 'lm', description: 'network' },
    data: { type: 'string', multiple: true, required: true, placeholder: 'DIR', description: 'corpora' },
    json: { type: 'boolean', description: 'machine output' },
  },
});

function usageError(argv: string[]): string {
  try {
    parseCli(DEF, argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
}

describe('parseCli', () => {
  it('GIVEN valid options WHEN parsed THEN typed values with defaults', () => {
    const parsed = parseCli(DEF, ['a.mid', '--data', 'x', '--data', 'y', '--temperature', '0.5']);
    expect(parsed).toEqual({ input: 'a.mid', values: { length: 100, temperature: 0.5, arch: 'lm', data: ['x', 'y'], json: false } });
  });

  it('GIVEN bad values WHEN parsed THEN one line naming the flag and what it allows', () => {
    const base = ['a.mid', '--data', 'x'];
    expect(usageError([...base, '--length', '0'])).toBe('--length must be a whole number from 1 to 2000 (got 0)');
    expect(usageError([...base, '--length', '-1'])).toBe('--length must be a whole number from 1 to 2000 (got -1)');
    expect(usageError([...base, '--length', '2.5'])).toBe('--length must be a whole number from 1 to 2000 (got 2.5)');
    expect(usageError([...base, '--temperature', 'hot'])).toBe('--temperature must be a number from 0.05 to 5 (got hot)');
    expect(usageError([...base, '--arch', 'gru'])).toBe('--arch must be one of lm, seed (got gru)');
    expect(usageError([...base, '--nope'])).toBe('unknown option --nope (see npm run demo -- --help)');
    expect(usageError([...base, '--length'])).toBe('--length needs a value (see npm run demo -- --help)');
    expect(usageError(['a.mid'])).toMatch(/^--data is required/);
    expect(usageError(['--data', 'x'])).toMatch(/^IN\.mid is required/);
    expect(usageError(['a.mid', 'b.mid', '--data', 'x'])).toMatch(/only one IN\.mid/);
    for (const message of [usageError([...base, '--length', '0']), usageError([...base, '--nope'])]) expect(message).not.toContain('\n');
  });

  it('GIVEN --help or -h WHEN parsed THEN help, whatever else is wrong', () => {
    expect(parseCli(DEF, ['--help'])).toBe('help');
    expect(parseCli(DEF, ['-h', '--length', '0'])).toBe('help');
  });
});

describe('usage and --help', () => {
  it('GIVEN the definition WHEN help is rendered THEN every option appears with its range, choices and default', () => {
    const help = helpText(DEF);
    expect(help.split('\n')[0]).toBe('A demo CLI.');
    expect(help).toContain('--length N');
    expect(help).toMatch(/--length N\s+notes \(1–2000; default 100\)/);
    expect(help).toMatch(/--temperature X\s+heat \(0\.05–5\)/);
    expect(help).toMatch(/--arch lm\|seed\s+network \(lm\|seed; default lm\)/);
    expect(help).toMatch(/--data DIR\s+corpora \(required; repeatable\)/);
    expect(usageText(DEF).replace(/\s+/g, ' ')).toBe('usage: npm run demo -- IN.mid [--length N] [--temperature X] [--arch lm|seed] --data DIR [--data DIR…] [--json]');
  });
});
