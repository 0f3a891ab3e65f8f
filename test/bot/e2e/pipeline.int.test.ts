/**
 * The full loop through the real discord.js client and the real pipeline: corpus uploads, /train
 * on a tiny corpus (a guild model from scratch, so no shipped model is needed), then /compose with
 * that model, MIDI continuation, result buttons, a gateway drop mid-job, a full queue and an
 * expired interaction token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { decodeAudio } from '../../../src/audio/decode.js';
import { readMidi } from '../../../src/music/midi-io.js';
import type { InteractionResponse, StoredMessage } from '../../support/discord-server/index.js';
import { pngSize, scaleMidi, startHarness, TRAIN_READY, type Harness } from './harness.js';

if (!TRAIN_READY) console.warn('SKIPPED: pipeline e2e tests — src/jobs/train.ts is not there yet.');

/** Three short real MIDI melodies (written by midi-io and re-read by the bot). */
const MELODIES = [
  [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 60, 55],
  [57, 60, 64, 69, 64, 60, 57, 59, 62, 65, 62, 59, 57, 52, 57, 60],
  [67, 66, 67, 69, 71, 69, 67, 64, 62, 64, 66, 67, 62, 59, 62, 67],
];

const hasFiles = (n: number) => (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= n;

function buttonIds(message: StoredMessage | null | undefined): string[] {
  const rows = (message?.components ?? []) as { components?: { custom_id?: string }[] }[];
  return rows.flatMap((row) => row.components ?? []).map((c) => c.custom_id ?? '');
}

async function expectComposeFiles(message: StoredMessage | null | undefined): Promise<{ pitches: number[] }> {
  const byExt = (ext: string) => message?.attachments.find((a) => a.filename.endsWith(ext))?.data;
  const midi = byExt('.mid');
  const mp3 = byExt('.mp3');
  const png = byExt('.png');
  expect(midi && mp3 && png).toBeTruthy();
  const sequence = readMidi(new Uint8Array(midi!));
  expect(sequence.notes.length).toBeGreaterThan(0);
  const audio = await decodeAudio(new Uint8Array(mp3!));
  expect(audio.samples.length).toBeGreaterThan(audio.sampleRateHz / 2);
  expect(pngSize(png!)?.width).toBeGreaterThan(0);
  return { pitches: sequence.notes.map((n) => n.pitch) };
}

let h: Harness;
describe.skipIf(!TRAIN_READY)('the pipeline end to end', () => {
  beforeAll(async () => {
    h = await startHarness({ env: { QUEUE_CONCURRENCY: '1' } });
  }, 300_000);
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    // The bot's own log (warn and above) explains most failures here: show it.
    onTestFailed(() => console.error(`bot log:\n${h.logLines.join('\n')}`));
  });

  it('GIVEN a tiny corpus WHEN an admin runs /train THEN progress is shown, the report has the loss curve, and the guild switches models', async () => {
    for (const [i, melody] of MELODIES.entries()) {
      const file = h.server.addAttachment(scaleMidi(melody), `melody-${i}.mid`, 'audio/midi');
      const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file }, user: h.server.users.admin }), (x) => /Added/.test(x.message?.content ?? ''));
      expect(r.message?.content).toMatch(/Added/);
    }
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 2, from: 'scratch' }, user: h.server.users.admin });
    const done = await h.server.waitForInteractionResponse(train, (r) => /Training finished|did not|failed/.test(r.message?.content ?? ''), 600_000);
    expect(done.message?.content).toMatch(/Training finished/);
    expect(done.message?.history.some((state) => /Training: (epoch|starting|waiting)/.test(state.content))).toBe(true);
    const curve = done.message?.attachments.find((a) => a.filename === 'loss-curve.png');
    expect(pngSize(curve!.data)).toBeDefined();
    expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).model).toBe('guild');
    const info = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info' }));
    expect(info.message?.content).toMatch(/In use: \*\*guild\*\*/);
  }, 600_000);

  it('GIVEN the guild model WHEN /compose runs THEN the reply becomes a MIDI, an MP3 and a piano roll with four buttons', async () => {
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 16 } }), hasFiles(3), 300_000);
    expect(r.deferred).toBe(true);
    await expectComposeFiles(r.message);
    expect(r.message?.content).toMatch(/Composed 16 notes-or-chords/);
    expect(buttonIds(r.message).map((id) => id.split(':')[1])).toEqual(['regen', 'cont', 'play', 'seed']);
    expect(r.message?.allowedMentions).toEqual({ parse: [] });
  }, 300_000);

  it('GIVEN a MIDI attachment WHEN /compose continues it THEN the result starts with the attached notes', async () => {
    const seed = MELODIES[0]!.slice(0, 8);
    const midi = h.server.addAttachment(scaleMidi(seed), 'start.mid', 'audio/midi');
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8, midi } }), hasFiles(3), 300_000);
    const { pitches } = await expectComposeFiles(r.message);
    expect(pitches.slice(0, seed.length)).toEqual(seed);
  }, 300_000);

  it('GIVEN a result WHEN Save as seed and Regenerate are pressed THEN a seed exists and a new result arrives', async () => {
    const first = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } }), hasFiles(3), 300_000);
    const ids = buttonIds(first.message);
    const resultId = ids[0]!.split(':')[2]!;
    const saved = await h.server.waitForInteractionResponse(h.server.pressButton(first.message!, ids[3]!));
    expect(saved.ephemeral).toBe(true);
    expect(saved.message?.content).toContain(`result-${resultId}`);
    expect(await h.bot.ctx.storage.seeds.get(h.server.guild.id, `result-${resultId}`)).toBeDefined();
    const again = await h.server.waitForInteractionResponse(h.server.pressButton(first.message!, ids[0]!), hasFiles(3), 300_000);
    await expectComposeFiles(again.message);
    expect(buttonIds(again.message)[0]).not.toBe(ids[0]);
  }, 300_000);

  it('GIVEN a job running WHEN the gateway drops THEN the bot resumes and still delivers the result', async () => {
    const resumesBefore = h.server.gateway.resumeCount;
    const i = h.server.sendSlashCommand({ name: 'compose', options: { length: 16 } });
    await h.server.waitForInteractionResponse(i, (r) => r.deferred);
    const resumed = h.server.gateway.waitForResumed(120_000);
    h.server.dropGateway();
    const r = await h.server.waitForInteractionResponse(i, hasFiles(3), 300_000);
    await expectComposeFiles(r.message);
    await resumed;
    expect(h.server.gateway.resumeCount).toBeGreaterThan(resumesBefore);
    const after = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }));
    expect(after.message?.content).toBeTruthy();
  }, 300_000);

  it('GIVEN a per-member limit of 1 WHEN a member sends two /compose at once THEN exactly one is refused with "queue" and the other completes', async () => {
    await h.bot.ctx.storage.settings.update(h.server.guild.id, { maxPerUser: 1 });
    const a = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const b = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const settled = (r: InteractionResponse): boolean => hasFiles(3)(r) || r.callbackType === 4;
    const [ra, rb] = await Promise.all([h.server.waitForInteractionResponse(a, settled, 300_000), h.server.waitForInteractionResponse(b, settled, 300_000)]);
    const refused = [ra, rb].filter((r) => r.callbackType === 4);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.message?.content).toMatch(/You already have 1 job queued/);
    expect(refused[0]?.ephemeral).toBe(true);
    await h.bot.ctx.storage.settings.update(h.server.guild.id, { maxPerUser: null });
  }, 300_000);

  it('GIVEN the interaction token has expired WHEN the result is ready THEN it is posted in the channel instead', async () => {
    h.bot.ctx.tokenLifetimeMs = 0;
    try {
      const before = h.server.channelMessages().length;
      h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
      const message = await h.server.waitForChannelMessage((m) => m.attachments.length >= 3 && h.server.channelMessages().indexOf(m) >= before, 300_000);
      expect(message.content).toContain(`<@${h.server.users.member.id}>`);
      await expectComposeFiles(message);
    } finally {
      h.bot.ctx.tokenLifetimeMs = undefined;
    }
  }, 300_000);
});
