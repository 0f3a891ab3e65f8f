/**
 * Structured logs with pino: one JSON object per line (NDJSON) by default, for journald, Docker and
 * log shippers; human-readable (pino-pretty) when stderr is a terminal. Secrets given in
 * `redact` (the bot token) and interaction tokens in webhook URLs are replaced in every line,
 * wherever they appear: in a field, in an error message, in a stack. A failed Discord request's
 * body (the user's files) is never logged.
 */
import { pino, stdSerializers, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogLevel } from '../config.js';

export interface Logger {
  debug(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  error(message: string, fields?: object): void;
}

export interface LoggerOptions {
  /** Strings that must never reach a log line (e.g. the bot token); replaced by "[redacted]". */
  redact?: readonly string[];
  /** Force pretty (true) or NDJSON (false); default: pretty only when writing to a terminal's stderr. */
  pretty?: boolean;
  /** Fields on every line, e.g. `{ shard: 1 }` in a shard process of `npm run start:sharded`. */
  fields?: Readonly<Record<string, string | number>>;
}

const REDACTED = '[redacted]';
/**
 * An interaction token is a 15-minute password for that interaction's replies, and discord.js puts
 * it in the URL of every webhook request, so a failed request's error carries it.
 */
const INTERACTION_TOKEN_IN_URL = /(\/(?:webhooks|interactions)\/\d+\/)[A-Za-z0-9_.-]{20,}/g;

/** pino's error shape, minus a failed REST request's body: it holds the user's files and message. */
function errorWithoutRequestBody(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object' && 'requestBody' in serialized) {
    const { requestBody: _omitted, ...rest } = serialized;
    return rest;
  }
  return serialized;
}

/**
 * @param write receives one complete line (no newline) — tests collect them; default stderr.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void, opts: LoggerOptions = {}): Logger {
  const secrets = (opts.redact ?? []).filter((s) => s.length >= 8);
  const scrub = (text: string): string =>
    secrets.reduce((out, secret) => out.split(secret).join(REDACTED), text).replace(INTERACTION_TOKEN_IN_URL, `$1${REDACTED}`);
  const usePretty = opts.pretty ?? (write === undefined && Boolean(process.stderr.isTTY));
  // Every line is NDJSON first (scrubbed there), then optionally prettified for a terminal.
  const prettify = usePretty ? prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss' }) : undefined;
  const out = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const destination: DestinationStream = {
    write: (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        const clean = scrub(line);
        out(prettify ? prettify(clean).trimEnd() : clean);
      }
    },
  };
  const base: PinoLogger = pino(
    {
      level,
      base: opts.fields ? { ...opts.fields } : undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Our fields use `error`/`reason`/`replyError`; give them pino's error shape (type, message, stack, cause).
      serializers: { error: errorWithoutRequestBody, reason: errorWithoutRequestBody, replyError: errorWithoutRequestBody },
      // Structured paths too, so a token in a field is redacted before it is even serialized.
      redact: { paths: ['token', 'discordToken', '*.token', '*.discordToken', 'headers.authorization', '*.headers.authorization'], censor: REDACTED },
    },
    destination,
  );
  const log = (at: LogLevel) => (message: string, fields?: object): void => {
    if (fields) base[at](fields, message);
    else base[at](message);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
