/** pino logs: NDJSON lines, levels, errors with their stack, and the token scrubbed everywhere. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/logger.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-part-of-the-token';

describe('createLogger', () => {
  it('GIVEN fields and an Error WHEN logged THEN one JSON object per line with level, time, msg and the error stack', () => {
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line));
    logger.debug('hidden below info');
    logger.info('logged in', { guilds: 2 });
    logger.error('job failed', { error: new Error('boom') });
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 'info', msg: 'logged in', guilds: 2 });
    expect(typeof first!.time).toBe('string');
    expect(second).toMatchObject({ level: 'error', msg: 'job failed', error: { type: 'Error', message: 'boom' } });
    expect(String((second!.error as { stack: string }).stack)).toMatch(/logger\.test\.ts/);
  });

  it('GIVEN fields for every line (a shard id) WHEN logged THEN each line carries them', () => {
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line), { fields: { shard: 1 } });
    logger.info('logged in', { guilds: 2 });
    logger.warn('plain');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ shard: 1, guilds: 2, msg: 'logged in' }),
      expect.objectContaining({ shard: 1, msg: 'plain' }),
    ]);
  });

  it('GIVEN the token in a message, a field, an error and a nested header WHEN logged THEN no line contains it', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line), { redact: [TOKEN] });
    logger.info(`login with ${TOKEN}`);
    logger.warn('request', { headers: { authorization: `Bot ${TOKEN}` }, note: `…${TOKEN}…` });
    logger.error('failed', { error: new Error(`401 for token ${TOKEN}`) });
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('secret-part-of-the-token');
      expect(line).toContain('[redacted]');
    }
  });

  it('GIVEN a failed Discord webhook request (its URL holds the interaction token, its body the user’s files) WHEN logged THEN neither reaches the line', () => {
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line));
    const interactionToken = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtYml0cw';
    const error = Object.assign(new Error('Internal Server Error'), {
      url: `https://discord.com/api/v10/webhooks/1234567890/${interactionToken}/messages/%40original`,
      requestBody: { files: [{ name: 'motif-1.mid', data: [77, 84, 104, 100] }], json: { content: 'a member’s words' } },
    });
    logger.warn('posting files failed', { error });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(interactionToken);
    expect(lines[0]).toContain('/webhooks/1234567890/[redacted]/messages');
    expect(lines[0]).not.toContain('requestBody');
    expect(lines[0]).not.toContain('a member’s words');
    expect(JSON.parse(lines[0]!)).toMatchObject({ error: { message: 'Internal Server Error' } });
  });
});
