/**
 * Reading a MIDI file somebody uploaded: the one function behind a /compose `midi` attachment, a
 * /seed save attachment and a /corpus add MIDI file, so the fuzz harness (src/fuzz) exercises
 * exactly what the bot runs.
 */
import { assertHasNotes, readMidi } from './midi-io.js';
import type { NoteSequence } from './note-sequence.js';

/**
 * @param maxBytes the configured MIDI size limit (MAX_MIDI_BYTES).
 * @throws MotifError MIDI_TOO_LARGE, MIDI_INVALID, MIDI_LIMIT_EXCEEDED, MIDI_EMPTY.
 */
export function readUploadedMidi(bytes: Uint8Array, opts: { maxBytes: number }): NoteSequence {
  const sequence = readMidi(bytes, { limits: { maxBytes: opts.maxBytes } });
  assertHasNotes(sequence);
  return sequence;
}
