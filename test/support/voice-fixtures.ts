/** Shared by the voice tests: a known short clip rendered for real, and result records around it. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderPiece } from '../../src/audio/render-piece.js';
import { writeMidi } from '../../src/music/midi-io.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import type { ResultRecord } from '../../src/storage/index.js';

/** Tail after the last note used by every voice render in these tests, seconds. */
export const CLIP_TAIL_SECONDS = 0.5;

/** C E G C' as quarter notes at 120 qpm: 2 s of music (+ tail). */
export function knownClip(pitches = [60, 64, 67, 72]): NoteSequence {
  const seq = emptySequence({ qpm: 120 });
  seq.notes = pitches.map((pitch, i) => ({ pitch, velocity: 96, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = pitches.length * 4;
  return seq;
}

export interface RenderedClip {
  oggPath: string;
  midiPath: string;
  mp3Path: string;
  /** Length of the rendered audio (piece + tail), seconds. */
  durationSeconds: number;
}

/** Renders `seq` with renderPiece (ogg:true) into `dir` as `<baseName>.*`, plus its .mid. */
export async function renderClip(dir: string, baseName: string, seq: NoteSequence = knownClip()): Promise<RenderedClip> {
  await mkdir(dir, { recursive: true });
  const rendered = await renderPiece(seq, { outDir: dir, baseName, ogg: true, pianoRoll: false, tailSeconds: CLIP_TAIL_SECONDS, reverb: false });
  const midiPath = join(dir, `${baseName}.mid`);
  await writeFile(midiPath, writeMidi(seq));
  return { oggPath: rendered.oggPath!, midiPath, mp3Path: rendered.audioPath!, durationSeconds: rendered.durationSeconds };
}

/** A stored result as the bot records it, pointing at real files. */
export function resultRecord(guildId: string, id: string, dir: string, clip: RenderedClip, seq: NoteSequence = knownClip(), extra: Partial<ResultRecord> = {}): ResultRecord {
  return {
    id,
    guildId,
    channelId: '0',
    userId: '0',
    createdAt: new Date().toISOString(),
    options: { length: seq.notes.length },
    dir,
    midiPath: clip.midiPath,
    mp3Path: clip.mp3Path,
    pngPath: join(dir, 'none.png'),
    opusPath: clip.oggPath,
    durationSeconds: clip.durationSeconds,
    qpm: 120,
    program: 0,
    keyGuess: 'C major',
    modelName: 'test',
    randomSeed: 1,
    sequence: seq,
    ...extra,
  };
}
