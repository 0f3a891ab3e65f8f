/**
 * The frame every Motif CLI runs in: parse from the one definition, print `--help`, turn a bad
 * option into one line + exit 2, and any later error into the shared exit codes.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseCli, UsageError, type CliDefinition, type OptionSpec, type ParsedCli } from './define-cli.js';
import { reportCliError } from './progress.js';

/**
 * Runs `main` with the parsed options.
 * @returns the process exit code (callers set `process.exitCode`).
 */
export async function runCliMain<O extends Record<string, OptionSpec>>(
  def: CliDefinition<O>,
  main: (parsed: ParsedCli<O>) => Promise<number>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  try {
    const parsed = parseCli(def, argv);
    if (parsed === 'help') {
      process.stdout.write(`${helpText(def)}\n`);
      return 0;
    }
    return await main(parsed);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    return reportCliError(error);
  }
}

/**
 * True when the module at `moduleUrl` is the process's entry point (`tsx src/cli/x.ts`), false when
 * it is imported (tests and the README check read the CLI definitions without running them).
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
