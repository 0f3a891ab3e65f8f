import { generateDependencyReport } from '@discordjs/voice';
import { describe, expect, it } from 'vitest';
import { checkVoiceDependencies } from '../../../src/bot/voice/dependencies.js';

describe('checkVoiceDependencies', () => {
  it('GIVEN this npm install WHEN checked THEN voice is ready with DAVE, prism-media and native AES-GCM, and needs no Opus encoder', async () => {
    const result = await checkVoiceDependencies();
    expect(result).toMatchObject({ ok: true, missing: [] });
    expect(result.report).toMatch(/^Voice playback: ready\./);
    expect(result.report).toContain("✓ transport encryption — Node's aes-256-gcm");
    // @discordjs/voice's own report agrees: no Opus library installed, yet voice is usable (Ogg/Opus is never re-encoded).
    const library = generateDependencyReport();
    expect(library).toMatch(/@discordjs\/opus: not found/);
    expect(library).toMatch(/opusscript: not found/);
    expect(library).toMatch(/native crypto support for aes-256-gcm: yes/);
    expect(library).toMatch(/@snazzah\/davey: \d+\.\d+\.\d+/);
  });

  it('GIVEN FFMPEG_PATH pointing nowhere WHEN checked THEN not ok, and the report names ffmpeg and what to do', async () => {
    const result = await checkVoiceDependencies({ ffmpegPath: '/nonexistent/ffmpeg' });
    expect(result.ok).toBe(false);
    expect(result.missing).toEqual(['ffmpeg']);
    expect(result.report).toMatch(/^Voice playback is OFF: missing ffmpeg\./);
    expect(result.report).toContain('set FFMPEG_PATH');
  });
});
