/** The leak finder itself finds planted leaks (so its clean result in the e2e suites means something). */
import { describe, expect, it } from 'vitest';
import { findLeaks } from './leak-check.js';
import type { Harness } from './harness.js';

function fakeRun(bodies: string[], logLines: string[] = []): Harness {
  return {
    server: {
      token: 'bot-token-0123456789abcdef',
      requests: bodies.map((content, i) => ({ method: 'POST', path: `/interactions/${i}/aW50ZXJhY3Rpb24abcdefghijklmnopqrstuvwxyz0123/callback`, query: {}, authorization: null, contentType: null, body: { data: { content } }, files: [], status: 204 })),
    },
    config: { discordToken: 'bot-token-0123456789abcdef' },
    dataDir: '/srv/motif-data-for-test',
    logLines,
  } as unknown as Harness;
}

describe('leak finder', () => {
  it('GIVEN clean replies WHEN searched THEN nothing is reported', () => {
    expect(findLeaks(fakeRun(['Saved seed `scale` (8 notes).', 'Something went wrong on my side (incident `0a1b2c3d`).']))).toEqual([]);
  });

  it('GIVEN a stack trace, a path, the bot token or an interaction token in a reply or log THEN each is reported', () => {
    const leaks = findLeaks(
      fakeRun(
        [
          "TypeError: Cannot read properties of undefined\n    at compose (/work/wt/src/jobs/compose.ts:12:5)",
          'Saved to /tmp/motif-e2e-abc/guilds/1/results',
          'token bot-token-0123456789abcdef',
          'see aW50ZXJhY3Rpb24abcdefghijklmnopqrstuvwxyz0123',
        ],
        ['login with bot-token-0123456789abcdef'],
      ),
    );
    expect(leaks.some((l) => l.startsWith('stack trace'))).toBe(true);
    expect(leaks.some((l) => l.startsWith('path'))).toBe(true);
    expect(leaks.filter((l) => l.startsWith('token in POST')).length).toBe(2);
    expect(leaks.some((l) => l.startsWith('token in log line') && !l.includes('bot-token-0123'))).toBe(true);
  });
});
