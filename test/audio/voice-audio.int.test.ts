import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { MOTIF_LANES, MOTIF_PROCESSORS, type MotifJobs, type MotifQueue } from '../../src/jobs/motif-jobs.js';
import { InProcessQueue } from '../../src/jobs/in-process-queue.js';
import { voiceAudioThroughQueue } from '../../src/bot/voice/index.js';
import { ensureVoiceAudio, voiceAudioPath, type VoiceAudio } from '../../src/audio/voice-audio.js';
import { assertOggOpusFile, opusPacketDurationMs, readOggOpusPackets } from '../../src/audio/ogg-opus.js';
import { decodeStereo } from './render-helpers.js';
import { CLIP_TAIL_SECONDS, knownClip, renderClip } from '../support/voice-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'motif-voice-audio-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FRAME_SECONDS = 0.02;

describe('stored Ogg/Opus voice audio', () => {
  it('GIVEN a known 2 s clip rendered with ogg:true WHEN demuxed THEN 20 ms Opus packets covering the clip ±1 frame, decoding to the same length', async () => {
    const clip = await renderClip(join(root, 'known'), 'clip');
    expect(clip.durationSeconds).toBeCloseTo(2 + CLIP_TAIL_SECONDS, 2);
    const { packets, durationSeconds } = await readOggOpusPackets(clip.oggPath);
    expect(new Set(packets.map((p) => opusPacketDurationMs(p)))).toEqual(new Set([20]));
    const expectedPackets = clip.durationSeconds / FRAME_SECONDS;
    expect(Math.abs(packets.length - expectedPackets)).toBeLessThanOrEqual(1.5);
    expect(durationSeconds).toBeCloseTo(packets.length * FRAME_SECONDS, 6);
    // The decoder (ffmpeg) agrees on the length and on the format Discord expects.
    const decoded = await decodeStereo(clip.oggPath);
    expect(decoded.streamInfo).toMatch(/opus, 48000 Hz, stereo/);
    expect(Math.abs(decoded.durationSeconds - clip.durationSeconds)).toBeLessThanOrEqual(FRAME_SECONDS);
  });

  it('GIVEN a result without voice audio WHEN played twice THEN it is rendered once, next to the result, and reused', async () => {
    const dir = join(root, 'no-ogg');
    const clip = await renderClip(dir, 'motif-aa');
    const source = { id: 'aa', dir, midiPath: clip.midiPath, sequence: knownClip() };
    const first = await ensureVoiceAudio(source, {});
    expect(first).toEqual({ oggPath: voiceAudioPath(source), rendered: true });
    await assertOggOpusFile(first.oggPath);
    const writtenAt = (await stat(first.oggPath)).mtimeMs;
    const second = await ensureVoiceAudio(source, {});
    expect(second).toEqual({ oggPath: first.oggPath, rendered: false });
    expect((await stat(first.oggPath)).mtimeMs).toBe(writtenAt);
    // Only the voice file was added: no stray MP3 or temp files.
    expect((await readdir(dir)).sort()).toEqual(['motif-aa-voice.ogg', 'motif-aa.mid', 'motif-aa.mp3', 'motif-aa.ogg'].sort());
  });

  it('GIVEN a recorded ogg that is damaged WHEN played THEN the voice audio is rendered again instead', async () => {
    const dir = join(root, 'damaged');
    const clip = await renderClip(dir, 'motif-bb');
    await writeFile(clip.oggPath, 'not an ogg file');
    const audio = await ensureVoiceAudio({ id: 'bb', dir, midiPath: clip.midiPath, opusPath: clip.oggPath, sequence: knownClip() }, {});
    expect(audio.rendered).toBe(true);
    expect((await readOggOpusPackets(audio.oggPath)).packets.length).toBeGreaterThan(100);
  });

  it('GIVEN no ogg and a missing ffmpeg WHEN played THEN FFMPEG_FAILED with a plain message and no file left', async () => {
    const dir = join(root, 'no-ffmpeg');
    const clip = await renderClip(dir, 'motif-cc');
    const source = { id: 'cc', dir, midiPath: clip.midiPath, sequence: knownClip() };
    const error = await ensureVoiceAudio(source, { ffmpegPath: join(root, 'no-such-ffmpeg') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('FFMPEG_FAILED');
    expect((error as MotifError).userMessage).toBe('The audio tool (ffmpeg) could not be found.');
    expect((await readdir(dir)).filter((f) => f.includes('voice'))).toEqual([]);
  });

  it('GIVEN a result without voice audio WHEN the bot prepares it THEN a queued worker job renders it, and the next play finds it without a job', async () => {
    const dir = join(root, 'worker');
    const clip = await renderClip(dir, 'motif-dd');
    await rm(clip.oggPath);
    const source = { id: 'dd', dir, midiPath: clip.midiPath, sequence: knownClip() };
    const queue = new InProcessQueue<MotifJobs>({
      processors: MOTIF_PROCESSORS,
      lanes: MOTIF_LANES,
      limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 4, maxPerUser: 2, maxPerGuild: 4 },
    });
    // The real queue, with a record of what was enqueued on it.
    const jobsRun: string[] = [];
    const recording: MotifQueue = Object.assign(Object.create(queue) as MotifQueue, {
      enqueue: ((...args: Parameters<MotifQueue['enqueue']>) => {
        jobsRun.push(args[0]);
        return queue.enqueue(...args);
      }) as MotifQueue['enqueue'],
    });
    const prepareInQueue = voiceAudioThroughQueue(recording, async () => undefined);
    const prepare = (): Promise<VoiceAudio> => prepareInQueue(source, {}, { guildId: '1', userId: '2' });
    try {
      const first = await prepare();
      expect(first).toEqual({ oggPath: voiceAudioPath(source), rendered: true });
      expect((await readOggOpusPackets(first.oggPath)).packets.length).toBeGreaterThan(100);
      expect(await prepare()).toEqual({ oggPath: first.oggPath, rendered: false });
      expect(jobsRun).toEqual(['voice-audio']);

      // Two old results at once on a one-job queue: whichever is enqueued second is told it waits behind one job.
      const others = await Promise.all(['ee', 'ff'].map(async (id) => {
        const c = await renderClip(join(root, `worker-${id}`), `motif-${id}`);
        await rm(c.oggPath);
        return { id, dir: join(root, `worker-${id}`), midiPath: c.midiPath, sequence: knownClip() };
      }));
      const waits: number[][] = [[], []];
      const both = await Promise.all(others.map((s, i) => prepareInQueue(s, {}, { guildId: '1', userId: `${i + 3}`, onWaiting: (ahead) => waits[i]!.push(ahead) })));
      expect(both.map((a) => a.rendered)).toEqual([true, true]);
      expect(waits.flat()).toEqual([1]);
    } finally {
      await queue.close();
    }
  });

  it('GIVEN a file that is not Ogg/Opus or is missing THEN AUDIO_INVALID and NOT_FOUND', async () => {
    const bogus = join(root, 'bogus.ogg');
    await writeFile(bogus, Buffer.alloc(64, 1));
    await expect(assertOggOpusFile(bogus)).rejects.toMatchObject({ code: 'AUDIO_INVALID' });
    await expect(assertOggOpusFile(join(root, 'missing.ogg'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
