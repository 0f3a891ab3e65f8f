/**
 * What must never reach a Discord user: the bot token, interaction tokens, a stack trace or a
 * file-system path. And what must never reach the log: any token. `findLeaks` reads everything the
 * bot sent to the (local) Discord server in a run, and every log line, and lists what it finds.
 */
import { tmpdir } from 'node:os';
import type { Harness } from './harness.js';

const STACK = [/\n\s+at\s/, /\bat\s+[\w.<>]+\s+\(.*:\d+:\d+\)/, /node:internal/, /\.(?:ts|js|mjs|cjs):\d+/, /\b(?:TypeError|ReferenceError|RangeError|SyntaxError):/];
const PATH = [/(?:^|[\s"'(`=:])\/(?:tmp|work|home|usr|var|etc|root|opt|srv|proc|dev)\//, /[A-Za-z]:\\\\/, /node_modules/];

export function findLeaks(h: Harness): string[] {
  const secrets = new Set<string>([h.server.token, h.config.discordToken]);
  for (const request of h.server.requests) {
    const token = /^\/(?:webhooks\/\d+|interactions\/\d+)\/([^/]+)/.exec(request.path)?.[1];
    if (token && token.length > 20) secrets.add(token);
  }
  const paths = [h.dataDir, tmpdir(), process.cwd()].filter((p) => p.length > 1);
  const leaks: string[] = [];
  // What the bot sent: every message body (replies, edits, follow-ups, channel posts) and file names.
  for (const request of h.server.requests) {
    if (request.method === 'GET' || request.path.includes('/commands')) continue;
    const text = `${request.body === null ? '' : JSON.stringify(request.body)} ${request.files.map((f) => f.filename).join(' ')}`;
    const where = `${request.method} ${request.path.replace(/\/[A-Za-z0-9_-]{40,}\b/g, '/<token>')}`;
    for (const secret of secrets) if (text.includes(secret)) leaks.push(`token in ${where}`);
    for (const pattern of STACK) if (pattern.test(text)) leaks.push(`stack trace (${pattern}) in ${where}: ${text.slice(0, 300)}`);
    for (const pattern of PATH) if (pattern.test(text)) leaks.push(`path (${pattern}) in ${where}: ${text.slice(0, 300)}`);
    for (const path of paths) if (text.includes(path)) leaks.push(`path ${path} in ${where}`);
  }
  // The log may hold stack traces and paths (it is the operator's), never a token.
  for (const line of h.logLines) {
    for (const secret of secrets) if (line.includes(secret)) leaks.push(`token in log line: ${line.slice(0, 200).replace(secret, '<token>')}`);
  }
  return leaks;
}
