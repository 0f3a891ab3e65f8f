import { describe, expect, it } from 'vitest';
import { cancelJobButtonId, parseCustomId, resultButtonId } from '../../src/bot/custom-ids.js';

describe('button custom ids', () => {
  it('GIVEN ids built for each action WHEN parsed THEN the action and id come back, within Discord 100-character limit', () => {
    for (const action of ['regen', 'cont', 'play', 'seed'] as const) {
      const id = resultButtonId(action, 'a1b2c3d4');
      expect(id.length).toBeLessThanOrEqual(100);
      expect(parseCustomId(id)).toEqual({ type: 'result', action, resultId: 'a1b2c3d4' });
    }
    expect(parseCustomId(cancelJobButtonId('abc123'))).toEqual({ type: 'job-cancel', jobId: 'abc123' });
  });

  it('GIVEN forged or foreign ids WHEN parsed THEN they are unknown', () => {
    for (const id of ['res:delete:abc', 'res:regen:../../x', 'res:regen:', 'other:thing:1', 'res:regen:a:b', '']) {
      expect(parseCustomId(id).type).toBe('unknown');
    }
  });
});
