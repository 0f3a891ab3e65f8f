/**
 * What /compose hands back through the real discord.js client and the local Discord server, with
 * the shipped model: MIDI and piano roll first, audio edited in after, the audio sized to the
 * upload limit the interaction reports (Discord's `attachment_size_limit`, enforced by the server
 * with 413 / 40005), and attached seeds over the limits read in the worker and refused there before
 * the model loads, privately.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { decodeAudio } from '../../../src/audio/decode.js';
import { writeMidi } from '../../../src/music/midi-io.js';
import { emptySequence } from '../../../src/music/note-sequence.js';
import { guildPaths } from '../../../src/storage/guild-paths.js';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { pngSize, startHarness, type Harness } from './harness.js';
import { findLeaks } from './leak-check.js';

const JOB_WAIT_MS = 120_000;
const TEST_TIMEOUT_MS = JOB_WAIT_MS + 30_000;
const DEFAULT_LIMIT = 10 * 1024 * 1024;

/** Done: the summary is shown (the final edit), or the bot answered with an error follow-up. */
const finished = (r: InteractionResponse): boolean => /Composed \d+ notes-or-chords/.test(r.message?.content ?? '') || r.followUps.length > 0;
const said = (r: InteractionResponse): string =>
  [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

/** A seed MIDI file of `notes` short notes spread evenly over `seconds` at 120 qpm. */
function seedMidi(notes: number, seconds: number): Buffer {
  const seq = emptySequence();
  const totalSteps = Math.round(seconds * 8);
  seq.notes = Array.from({ length: notes }, (_, i) => {
    const startStep = Math.floor((i * totalSteps) / notes);
    return { pitch: 48 + (i % 24), velocity: 80, startStep, endStep: startStep + 1, program: 0, isDrum: false, track: 0 };
  });
  seq.totalSteps = totalSteps;
  return Buffer.from(writeMidi(seq));
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { QUEUE_CONCURRENCY: '1' } });
}, TEST_TIMEOUT_MS);
afterAll(async () => {
  await h?.stop();
});
afterEach(() => {
  h.server.attachmentSizeLimit = DEFAULT_LIMIT;
});

describe('/compose output', () => {
  it('GIVEN /compose WHEN the MIDI and piano roll exist THEN they are posted first, and the MP3 is added to the same reply after', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 30 } }), finished, JOB_WAIT_MS);
    expect(r.followUps, said(r)).toEqual([]);
    const names = r.message!.attachments.map((a) => a.filename).sort();
    expect(names).toEqual([expect.stringMatching(/\.mid$/), expect.stringMatching(/\.mp3$/), expect.stringMatching(/\.png$/)]);
    // One state of the reply had the MIDI and the piano roll but no audio yet, with a caption saying it follows.
    const early = r.message!.history.find((state) => state.attachmentNames.length === 2);
    expect(early?.content).toMatch(/MIDI and piano roll ready\*\* · \d+:\d\d · \d+ BPM · key guess .*\nRendering the audio/);
    expect(early?.attachmentNames.map((n) => n.slice(-4)).sort()).toEqual(['.mid', '.png']);
    const earlyIndex = r.message!.history.indexOf(early!);
    const finalIndex = r.message!.history.findIndex((state) => state.attachmentNames.length === 3);
    expect(earlyIndex).toBeLessThan(finalIndex);
    // The MIDI and piano roll were kept, not uploaded again: one upload of them, one of the MP3.
    const uploads = h.server.requests.filter((q) => q.files.length > 0 && q.path.includes(r.interaction.token)).map((q) => q.files.map((f) => f.filename.slice(-4)).sort());
    expect(uploads).toEqual([['.mid', '.png'], ['.mp3']]);
    expect(r.message!.content).not.toMatch(/Audio:|No audio/); // full-quality MP3 needs no note
    const png = r.message!.attachments.find((a) => a.filename.endsWith('.png'))!;
    expect(pngSize(png.data)).toEqual({ width: 1200, height: 480 });
    const mp3 = r.message!.attachments.find((a) => a.filename.endsWith('.mp3'))!;
    expect((await decodeAudio(new Uint8Array(mp3.data))).samples.length).toBeGreaterThan(44_100);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a server with a small upload limit WHEN /compose runs THEN the audio is compressed to fit it and Discord accepts every upload', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    // 192 kb/s MP3 fits only ~11 s in 256 KB, and Ogg/Opus at 32 kb/s up to ~65 s. At tempo 90, 60
    // notes-or-chords last 11–65 s when they move on every 0.28–1.6 quarters on average (the piano
    // samples: 0.50): every such piece must be compressed, and fits. (At tempo 60 a slow random piece
    // once lasted 61 s and could not fit.)
    const limit = 256 * 1024;
    h.server.attachmentSizeLimit = limit;
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 60, tempo: 90 } }), finished, JOB_WAIT_MS);
    expect(r.followUps, said(r)).toEqual([]);
    const audio = r.message!.attachments.find((a) => /\.(mp3|ogg)$/.test(a.filename));
    expect(audio, said(r)).toBeDefined();
    expect(audio!.data.length).toBeLessThanOrEqual(limit);
    expect(r.message!.content).toMatch(/\nAudio: (MP3|Ogg\/Opus) at \d+ kb\/s, so that it fits this server's 256 KB upload limit\.$/);
    const decoded = await decodeAudio(new Uint8Array(audio!.data));
    expect(decoded.samples.length / decoded.sampleRateHz).toBeGreaterThan(5); // real music, not a stub
    expect(h.server.requests.filter((q) => q.status === 413)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN an upload limit no audio can fit WHEN /compose runs THEN the reply says what was too long and still has the MIDI and piano roll', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    // Room for the MIDI and the piano roll (~30 KB), not for the ~15 s of Ogg/Opus the rest holds: at
    // tempo 30, 40 notes-or-chords last over 20 s unless they move every quarter of a beat on average.
    h.server.attachmentSizeLimit = 60 * 1024;
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 40, tempo: 30 } }), finished, JOB_WAIT_MS);
    expect(r.followUps, said(r)).toEqual([]);
    expect(r.message!.content).toMatch(/No audio: at .* it would not fit this server's 60 KB upload limit even compressed .*Here are the MIDI and the piano roll\./);
    expect(r.message!.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.png']);
    expect(h.server.requests.filter((q) => q.status === 413)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a 1 h 59 min seed or a 136,815-note seed WHEN attached THEN each is read in the worker and refused privately before the model loads, naming the limit, and nothing is kept', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    // Guild B composes with its own model, whose folder is gone: a job that got as far as loading
    // the model (let alone sampling) would answer MODEL_NOT_FOUND instead of the limit.
    const b = h.server.guilds[1]!;
    const where = { guildId: b.id, channelId: b.textChannel.id };
    await h.bot.ctx.storage.models.set(b.id, {
      modelDir: join(h.dataDir, 'no-such-model'),
      trainedAt: new Date().toISOString(),
      trainedBy: h.server.users.admin.id,
      epochs: 1,
      from: 'default',
      corpusFiles: 1,
      metrics: {},
      summary: 'gone',
    });
    await h.bot.ctx.storage.settings.update(b.id, { model: 'guild' });
    const refusal = async (data: Buffer, name: string): Promise<InteractionResponse> => {
      const file = h.server.addAttachment(data, name, 'audio/midi');
      const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 100, midi: file }, ...where }), (x) => x.followUps.length > 0, JOB_WAIT_MS);
      // Acknowledged first (the file is downloaded and read in a worker), then answered privately.
      expect(r.deferred, said(r)).toBe(true);
      expect(r.followUps.at(-1)!.flags & 64, said(r)).toBe(64);
      return r;
    };
    // The control: a legal seed in guild B does reach the model, and fails on it.
    const legal = await refusal(seedMidi(40, 20), 'legal.mid');
    expect(said(legal)).toMatch(/No model was found/);

    const r1 = await refusal(seedMidi(400, 119 * 60), 'long.mid');
    expect(r1.followUps.at(-1)!.content).toMatch(/lasts 1 hour 59 minutes; the limit is 30 minutes/);
    const r2 = await refusal(seedMidi(136_815, 25 * 60), 'dense.mid');
    expect(r2.followUps.at(-1)!.content).toMatch(/136,815 notes; \/compose continues seeds of up to 20,000 notes/);
    for (const r of [r1, r2]) {
      // Nothing was posted for it: no file upload, and the public "thinking…" reply is gone.
      expect(h.server.requests.filter((q) => q.files.length > 0 && q.path.includes(r.interaction.token))).toEqual([]);
      expect(r.message?.deleted ?? true).toBe(true);
    }
    expect(await h.bot.ctx.queue.list()).toEqual([]);
    expect(await h.bot.ctx.storage.results.recent(b.id)).toEqual([]);
    expect(await readdir(guildPaths(h.config.dataDir, b.id).resultsDir).catch(() => [])).toEqual([]);
  }, TEST_TIMEOUT_MS * 2);

  it('GIVEN everything this suite did WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
