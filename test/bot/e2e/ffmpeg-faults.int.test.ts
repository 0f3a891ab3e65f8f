/**
 * The audio tool failing under a running bot: an ffmpeg that crashes in the middle of encoding, and
 * an ffmpeg that is not there. /compose answers privately with a plain message, no half-made result
 * is stored or left on disk, and the bot keeps answering.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFfmpegPath } from '../../../src/audio/ffmpeg.js';
import { guildPaths } from '../../../src/storage/guild-paths.js';
import { MessageFlag } from '../../support/discord-server/index.js';
import { scaleMidi, startHarness, type Harness } from './harness.js';

const toolDir = mkdtempSync(join(tmpdir(), 'motif-ffmpeg-fault-'));
afterAll(() => rmSync(toolDir, { recursive: true, force: true }));

/**
 * The real ffmpeg, except that a run with an input (an encode or a decode) takes some audio and then
 * dies of a segfault. Capability queries (`-formats`, `-encoders`, which fluent-ffmpeg asks first)
 * go to the real binary.
 */
function crashingFfmpeg(): string {
  const path = join(toolDir, 'ffmpeg-crashes');
  const script = [
    '#!/bin/sh',
    'case " $* " in',
    '  *" -i "*) head -c 200000 > /dev/null; kill -SEGV $$ ;;',
    `  *) exec ${JSON.stringify(defaultFfmpegPath())} "$@" ;;`,
    'esac',
    '',
  ].join('\n');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

async function composeAnswer(h: Harness): Promise<{ text: string; ephemeral: boolean }> {
  const r = await h.server.waitForInteractionResponse(
    h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } }),
    (x) => x.followUps.length > 0 || x.callbackType === 4 || (x.message?.attachments.length ?? 0) >= 3,
    120_000,
  );
  const shown = r.followUps[0] ?? r.message;
  return { text: shown?.content ?? '', ephemeral: ((shown?.flags ?? 0) & MessageFlag.Ephemeral) !== 0 };
}

function expectNothingKept(h: Harness): void {
  const { resultsDir } = guildPaths(h.dataDir, h.server.guild.id);
  expect(readdirSync(resultsDir, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
}

describe.each([
  { what: 'crashes mid-encode', path: crashingFfmpeg, message: /^The audio tool \(ffmpeg\) failed while encoding the MP3\. Please try again\.$/ },
  { what: 'is missing', path: () => join(toolDir, 'no-ffmpeg-here'), message: /^The audio tool \(ffmpeg\) could not be found\.$/ },
])('ffmpeg that $what', ({ path, message }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { FFMPEG_PATH: path() } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('GIVEN /compose WHEN the MP3 cannot be made THEN the member is told privately, nothing half-made is kept, and the bot still answers', async () => {
    const answer = await composeAnswer(h);
    expect(answer.text).toMatch(message);
    expect(answer.ephemeral).toBe(true);
    expect(await h.bot.ctx.storage.results.recentIds(h.server.guild.id)).toEqual([]);
    expectNothingKept(h);
    // Commands that need no audio still work.
    const midi = h.server.addAttachment(scaleMidi(), 'ok.mid', 'audio/midi');
    const saved = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'still-works', midi } }));
    expect(saved.message?.content).toMatch(/Saved seed `still-works`/);
  }, 300_000);
});
