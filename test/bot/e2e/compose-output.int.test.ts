/**
 * What /compose hands back through the real discord.js client and the local Discord server, with
 * the shipped model: MIDI and piano roll first, audio edited in after, the audio sized to the
 * upload limit the interaction reports (Discord's `attachment_size_limit`, enforced by the server
 * with 413 / 40005), and seeds over the limits refused before anything is queued.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { decodeAudio } from '../../../src/audio/decode.js';
import { writeMidi } from '../../../src/music/midi-io.js';
import { emptySequence } from '../../../src/music/note-sequence.js';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { pngSize, startHarness, type Harness } from './harness.js';

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
    onTestFailed(() => console.error(h.describeState()));
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
    onTestFailed(() => console.error(h.describeState()));
    const limit = 512 * 1024; // at tempo 60, 60 notes-or-chords last ~40 s: 192 kb/s MP3 would need ~1 MB
    h.server.attachmentSizeLimit = limit;
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 60, tempo: 60 } }), finished, JOB_WAIT_MS);
    expect(r.followUps, said(r)).toEqual([]);
    const audio = r.message!.attachments.find((a) => /\.(mp3|ogg)$/.test(a.filename));
    expect(audio, said(r)).toBeDefined();
    expect(audio!.data.length).toBeLessThanOrEqual(limit);
    expect(r.message!.content).toMatch(/\nAudio: (MP3|Ogg\/Opus) at \d+ kb\/s, so that it fits this server's 512 KB upload limit\.$/);
    const decoded = await decodeAudio(new Uint8Array(audio!.data));
    expect(decoded.samples.length / decoded.sampleRateHz).toBeGreaterThan(5); // real music, not a stub
    expect(h.server.requests.filter((q) => q.status === 413)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN an upload limit no audio can fit WHEN /compose runs THEN the reply says what was too long and still has the MIDI and piano roll', async () => {
    onTestFailed(() => console.error(h.describeState()));
    h.server.attachmentSizeLimit = 60 * 1024; // room for the MIDI and the piano roll (~30 KB), not for ~20 s of audio
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 40, tempo: 60 } }), finished, JOB_WAIT_MS);
    expect(r.followUps, said(r)).toEqual([]);
    expect(r.message!.content).toMatch(/No audio: at .* it would not fit this server's 60 KB upload limit even compressed .*Here are the MIDI and the piano roll\./);
    expect(r.message!.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.png']);
    expect(h.server.requests.filter((q) => q.status === 413)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a 1 h 59 min seed or a 136,815-note seed WHEN attached THEN each is refused privately at once, naming the limit, and nothing is queued', async () => {
    const long = h.server.addAttachment(seedMidi(400, 119 * 60), 'long.mid', 'audio/midi');
    const r1 = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 100, midi: long } }));
    expect(said(r1)).toMatch(/lasts 1 hour 59 minutes; the limit is 30 minutes/);
    expect(r1.ephemeral || r1.followUps.some((f) => (f.flags & 64) !== 0)).toBe(true);
    const dense = h.server.addAttachment(seedMidi(136_815, 25 * 60), 'dense.mid', 'audio/midi');
    const r2 = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 100, midi: dense } }), undefined, 60_000);
    expect(said(r2)).toMatch(/136,815 notes; \/compose continues seeds of up to 20,000 notes/);
    expect(h.bot.ctx.queue.list()).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
