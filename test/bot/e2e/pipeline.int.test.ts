/**
 * The full loop through the real discord.js client and the real pipeline: corpus uploads, /train
 * on a tiny corpus (a guild model from scratch, so no shipped model is needed), then /compose with
 * that model, MIDI continuation, result buttons, a gateway drop mid-job, a full queue and an
 * expired interaction token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { decodeAudio } from '../../../src/audio/decode.js';
import { loadCorpus, splitCorpus } from '../../../src/music/corpus.js';
import { readMidi } from '../../../src/music/midi-io.js';
import { guildPaths } from '../../../src/storage/guild-paths.js';
import type { InteractionResponse, StoredMessage } from '../../support/discord-server/index.js';
import { findLeaks } from './leak-check.js';
import { pngSize, scaleMidi, startHarness, type Harness } from './harness.js';

/**
 * Three real MIDI melodies (written by midi-io and re-read by the bot), each a 16-note phrase played
 * twice: 32 notes are ~100 event tokens, so any single upload fills a 65-token training window
 * (/train uses sequenceLength 64). A 16-note piece (~50 tokens) does not, and which uploads land in
 * the training split depends on their random ids, so shorter melodies made /train fail at random.
 */
const PHRASES = [
  [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 60, 55],
  [57, 60, 64, 69, 64, 60, 57, 59, 62, 65, 62, 59, 57, 52, 57, 60],
  [67, 66, 67, 69, 71, 69, 67, 64, 62, 64, 66, 67, 62, 59, 62, 67],
];
const MELODIES = PHRASES.map((phrase) => [...phrase, ...phrase]);
/** Uploads beyond MELODIES allowed while the split still leaves nothing to train on. */
const MAX_EXTRA_UPLOADS = 8;

/**
 * How long one job may take to answer. A job takes seconds even on a loaded 2-core box; these bounds
 * only turn a hung job into a failure that says what the reply looked like, before the test's own
 * (longer) timeout would fail it with no detail.
 */
const JOB_WAIT_MS = 120_000;
const TRAIN_WAIT_MS = 180_000;
const TEST_TIMEOUT_MS = JOB_WAIT_MS + 30_000;
/** How long a test waits for the previous test's jobs to leave the queue (concurrency 1). */
const IDLE_WAIT_MS = 30_000;

const hasFiles = (n: number) => (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= n;
/**
 * The bot answers a failed command with a private follow-up (deleting its public progress message),
 * never by editing the reply: waits must stop there too, or a failure looks like a hang.
 */
const orError = (done: (r: InteractionResponse) => boolean) => (r: InteractionResponse): boolean => done(r) || r.followUps.length > 0;
/** Everything the bot said on an interaction, for assertion messages. */
const said = (r: InteractionResponse): string =>
  [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

/**
 * Uploads MELODIES as an admin, then more copies while the corpus split (by a hash of each upload's
 * random id, see splitCorpus) would hold every piece out of training: /train then always has data.
 */
async function uploadCorpus(): Promise<void> {
  const { corpusDir } = guildPaths(h.config.dataDir, h.server.guild.id);
  for (let i = 0; i < MELODIES.length + MAX_EXTRA_UPLOADS; i++) {
    if (i >= MELODIES.length && splitCorpus((await loadCorpus([corpusDir])).pieces).train.length > 0) return;
    const file = h.server.addAttachment(scaleMidi(MELODIES[i % MELODIES.length]), `melody-${i}.mid`, 'audio/midi');
    const add = h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'public-domain' }, user: h.server.users.admin });
    const r = await h.server.waitForInteractionResponse(add, orError((x) => /Added/.test(x.message?.content ?? '')));
    expect(said(r)).toMatch(/^Added/);
  }
  throw new Error(`the corpus split still leaves nothing to train on after ${MELODIES.length + MAX_EXTRA_UPLOADS} uploads`);
}

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

/** expectComposeFiles for an interaction's reply; an error follow-up fails with its text. */
async function expectComposeReply(r: InteractionResponse): Promise<{ pitches: number[] }> {
  expect(r.followUps, said(r)).toEqual([]);
  return await expectComposeFiles(r.message);
}

let h: Harness;
describe('the pipeline end to end', () => {
  beforeAll(async () => {
    h = await startHarness({ env: { QUEUE_CONCURRENCY: '1' } });
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    // The bot's own log, its queue and the gateway explain most failures here (a hung job above all): show them.
    onTestFailed(async () => console.error(await h.describeState()));
  });
  beforeEach(async () => {
    // A job left running by a failed test would hold the single queue slot: fail fast and say so,
    // instead of every later test timing out behind it.
    const deadline = Date.now() + IDLE_WAIT_MS;
    while ((await h.bot.ctx.queue.list()).length > 0) {
      if (Date.now() > deadline) throw new Error(`an earlier job is still in the queue: ${JSON.stringify(await h.bot.ctx.queue.list())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, IDLE_WAIT_MS + 5_000);

  it('GIVEN a tiny corpus WHEN an admin runs /train THEN progress is shown, the report has the loss curve, and the guild switches models', async () => {
    await uploadCorpus();
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 2, from: 'scratch' }, user: h.server.users.admin });
    const done = await h.server.waitForInteractionResponse(train, orError((r) => /Training finished|did not|failed/.test(r.message?.content ?? '')), TRAIN_WAIT_MS);
    expect(said(done)).toMatch(/^\*\*Training finished\*\*/);
    expect(done.message?.history.some((state) => /Training: (epoch|starting|waiting)/.test(state.content))).toBe(true);
    const curve = done.message?.attachments.find((a) => a.filename === 'loss-curve.png');
    expect(pngSize(curve!.data)).toBeDefined();
    expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).model).toBe('guild');
    const info = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info' }));
    expect(info.message?.content).toMatch(/In use: \*\*guild\*\*/);
    // Its card credits what it learnt from, with the licence each uploader stated.
    const corpus = await h.bot.ctx.storage.corpus.list(h.server.guild.id);
    expect(info.message?.content).toMatch(new RegExp(`Sources \\(${corpus.length}: ${corpus.length} public domain\\)`));
    expect(info.message?.content).toContain(`• ${corpus[0]!.name} — public domain, added by <@${h.server.users.admin.id}>`);
    // Removing a piece the model learnt from marks the model, and says so.
    const removed = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id: corpus[0]!.id }, user: h.server.users.admin }),
    );
    expect(removed.message?.content).toMatch(/model was trained on it/);
    expect((await h.bot.ctx.storage.models.get(h.server.guild.id))?.removedSources?.map((r) => r.id)).toEqual([corpus[0]!.id]);
    const after = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info' }));
    expect(after.message?.content).toMatch(/removed from the corpus since; retrain to drop it/);
  }, TRAIN_WAIT_MS + 30_000);

  it('GIVEN the guild model WHEN /compose runs THEN the reply becomes a MIDI, an MP3 and a piano roll with four buttons', async () => {
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 16 } }), orError(hasFiles(3)), JOB_WAIT_MS);
    expect(r.deferred).toBe(true);
    await expectComposeReply(r);
    expect(r.message?.content).toMatch(/Composed 16 notes-or-chords/);
    expect(buttonIds(r.message).map((id) => id.split(':')[1])).toEqual(['regen', 'cont', 'play', 'seed']);
    expect(r.message?.allowedMentions).toEqual({ parse: [] });
  }, TEST_TIMEOUT_MS);

  it('GIVEN a MIDI attachment WHEN /compose continues it THEN the result starts with the attached notes', async () => {
    const seed = MELODIES[0]!.slice(0, 8);
    const midi = h.server.addAttachment(scaleMidi(seed), 'start.mid', 'audio/midi');
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8, midi } }), orError(hasFiles(3)), JOB_WAIT_MS);
    const { pitches } = await expectComposeReply(r);
    expect(pitches.slice(0, seed.length)).toEqual(seed);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a result WHEN Save as seed and Regenerate are pressed THEN a seed exists and a new result arrives', async () => {
    const first = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } }), orError(hasFiles(3)), JOB_WAIT_MS);
    expect(first.followUps, said(first)).toEqual([]);
    const ids = buttonIds(first.message);
    const resultId = ids[0]!.split(':')[2]!;
    const saved = await h.server.waitForInteractionResponse(h.server.pressButton(first.message!, ids[3]!));
    expect(saved.ephemeral).toBe(true);
    expect(saved.message?.content).toContain(`result-${resultId}`);
    expect(await h.bot.ctx.storage.seeds.get(h.server.guild.id, `result-${resultId}`)).toBeDefined();
    const again = await h.server.waitForInteractionResponse(h.server.pressButton(first.message!, ids[0]!), orError(hasFiles(3)), JOB_WAIT_MS);
    await expectComposeReply(again);
    expect(buttonIds(again.message)[0]).not.toBe(ids[0]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a job running WHEN the gateway drops THEN the bot resumes and still delivers the result', async () => {
    const resumesBefore = h.server.gateway.resumeCount;
    const i = h.server.sendSlashCommand({ name: 'compose', options: { length: 16 } });
    await h.server.waitForInteractionResponse(i, (r) => r.deferred);
    const resumed = h.server.gateway.waitForResumed(JOB_WAIT_MS);
    // Awaited below; if the test fails first, its later timeout must not surface as an unhandled rejection.
    resumed.catch(() => undefined);
    h.server.dropGateway();
    const r = await h.server.waitForInteractionResponse(i, orError(hasFiles(3)), JOB_WAIT_MS);
    await expectComposeReply(r);
    await resumed;
    expect(h.server.gateway.resumeCount).toBeGreaterThan(resumesBefore);
    const after = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }));
    expect(after.message?.content).toBeTruthy();
  }, TEST_TIMEOUT_MS);

  it('GIVEN a per-member limit of 1 WHEN a member sends two /compose at once THEN exactly one is refused with "queue" and the other completes', async () => {
    await h.bot.ctx.storage.settings.update(h.server.guild.id, { maxPerUser: 1 });
    const a = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const b = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const settled = (r: InteractionResponse): boolean => orError(hasFiles(3))(r) || r.callbackType === 4;
    const [ra, rb] = await Promise.all([h.server.waitForInteractionResponse(a, settled, JOB_WAIT_MS), h.server.waitForInteractionResponse(b, settled, JOB_WAIT_MS)]);
    const refused = [ra, rb].filter((r) => r.callbackType === 4);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.message?.content).toMatch(/You already have 1 job queued/);
    expect(refused[0]?.ephemeral).toBe(true);
    await h.bot.ctx.storage.settings.update(h.server.guild.id, { maxPerUser: null });
  }, TEST_TIMEOUT_MS);

  it('GIVEN the interaction token has expired WHEN the result is ready THEN it is posted in the channel instead', async () => {
    h.bot.ctx.tokenLifetimeMs = 0;
    try {
      const before = h.server.channelMessages().length;
      h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
      const message = await h.server.waitForChannelMessage((m) => m.attachments.length >= 3 && h.server.channelMessages().indexOf(m) >= before, JOB_WAIT_MS);
      expect(message.content).toContain(`<@${h.server.users.member.id}>`);
      await expectComposeFiles(message);
    } finally {
      h.bot.ctx.tokenLifetimeMs = undefined;
    }
  }, TEST_TIMEOUT_MS);

  it('GIVEN the whole pipeline run above WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
