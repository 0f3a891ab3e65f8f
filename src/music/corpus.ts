/**
 * Loads a training corpus: every MIDI file under one or more folders (recursively), plus the JSB
 * chorales JSON when a folder holds it. Unreadable files are skipped and reported, never fatal:
 * community uploads and public corpora both contain broken files.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { MotifError, isMotifError } from '../errors.js';
import { loadJsbChorales } from './jsb-chorales.js';
import { readMidi } from './midi-io.js';
import type { NoteSequence } from './note-sequence.js';

export interface CorpusPiece {
  /** Stable identifier: path relative to its corpus folder (used for deterministic splits). */
  id: string;
  sequence: NoteSequence;
}

export interface Corpus {
  pieces: CorpusPiece[];
  skipped: { id: string; reason: string }[];
}

const MIDI_EXTENSIONS = new Set(['.mid', '.midi', '.kar', '.smf']);
const JSB_FILE = 'jsb_chorales_16th.json';

export interface LoadCorpusOptions {
  stepsPerQuarter?: number;
  /** Keep at most this many pieces (after sorting by id), e.g. for the 1/5/50-file comparison. */
  maxPieces?: number;
}

/**
 * @throws MotifError DATA_EMPTY when no folder exists or nothing readable is found.
 */
export async function loadCorpus(dirs: string[], opts: LoadCorpusOptions = {}): Promise<Corpus> {
  const pieces: CorpusPiece[] = [];
  const skipped: Corpus['skipped'] = [];
  for (const dir of dirs) {
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new MotifError('DATA_EMPTY', `The training folder ${basename(dir)} does not exist or is not a folder.`, { detail: dir });
    }
    const files = await listFiles(dir);
    const label = basename(dir);
    for (const file of files) {
      const id = `${label}/${relative(dir, file)}`;
      if (basename(file) === JSB_FILE) {
        for (const split of ['train', 'valid', 'test'] as const) {
          loadJsbChorales(dir, split).forEach((sequence, index) => pieces.push({ id: `${id}#${split}-${index}`, sequence }));
        }
        continue;
      }
      if (!MIDI_EXTENSIONS.has(extname(file).toLowerCase())) continue;
      try {
        const sequence = readMidi(new Uint8Array(await readFile(file)), { stepsPerQuarter: opts.stepsPerQuarter ?? 4 });
        if (sequence.notes.length === 0) skipped.push({ id, reason: 'no notes' });
        else pieces.push({ id, sequence });
      } catch (error) {
        if (!isMotifError(error)) throw error;
        skipped.push({ id, reason: error.userMessage });
      }
    }
  }
  pieces.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const kept = opts.maxPieces ? pieces.slice(0, opts.maxPieces) : pieces;
  if (kept.length === 0) {
    throw new MotifError('DATA_EMPTY', 'No readable MIDI files were found in the training data.', { detail: dirs.join(', ') });
  }
  return { pieces: kept, skipped };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? dir, e.name))
    .sort();
}

/** Below this many pieces nothing is held out for testing (only one piece for validation). */
const SMALL_CORPUS_PIECES = 10;

export interface CorpusSplit {
  train: CorpusPiece[];
  /** Used for early stopping during training. */
  valid: CorpusPiece[];
  /** Never seen by training, only by `npm run eval`. */
  test: CorpusPiece[];
}

/**
 * Deterministic split by a hash of the piece id, so a piece is always in the same part whatever else
 * the corpus holds. JSB chorales keep their published split so numbers compare with the literature.
 * @param heldOutFraction fraction for each of valid and test (0–0.4).
 */
export function splitCorpus(pieces: CorpusPiece[], heldOutFraction = 0.1): CorpusSplit {
  const split: CorpusSplit = { train: [], valid: [], test: [] };
  for (const piece of pieces) {
    const jsbSplit = /#(train|valid|test)-\d+$/.exec(piece.id)?.[1] as keyof CorpusSplit | undefined;
    if (jsbSplit) {
      split[jsbSplit].push(piece);
      continue;
    }
    const u = hashUnit(piece.id);
    (u < heldOutFraction ? split.valid : u < 2 * heldOutFraction ? split.test : split.train).push(piece);
  }
  // A guild's first few uploads: a test split would starve training, and which pieces a hash
  // holds out must not decide whether training can run at all.
  if (pieces.length < SMALL_CORPUS_PIECES) {
    split.train.push(...split.test);
    split.test = [];
  }
  if (split.valid.length === 0 && split.train.length > 1) split.valid.push(split.train.pop() as CorpusPiece);
  return split;
}

/** FNV-1a of a string mapped to [0, 1). */
function hashUnit(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}
