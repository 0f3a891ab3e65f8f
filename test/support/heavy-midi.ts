/**
 * Heavy MIDI seeds, as the issue 13 probe uploaded them: within the reader's size, note and event
 * limits (≤ 8 MB, ≤ 200,000 notes) yet as much work to read as a real file of that size can be —
 * dense four-note chords in 32nd notes, padded with a controller sweep (mod wheel) between the chords.
 * The default (50,000 chords, 52 minutes) is read in full and then refused by the 30-minute piece
 * limit (MAX_PIECE_SECONDS); `chords: MAX_SEED_NOTES / 4` (20,000 notes, 5 minutes) is a seed
 * /compose accepts and continues.
 */

/** One format-0 track; `targetBytes` is approached from below (the result is never larger). */
export function heavySeedMidi(opts: { targetBytes: number; chords?: number }): Buffer {
  const chords = opts.chords ?? 50_000; // × 4 notes = 200,000 notes, 52 minutes at 120 qpm
  const ticksPerQuarter = 96;
  const chordTicks = 12; // a 32nd note
  const header = [0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, 0, ticksPerQuarter];
  const perChordNotes = 4 * 3 * 2 + 2; // note-ons and note-offs with running status, plus two status bytes
  const fixedBytes = header.length + 8 + 4 + chords * perChordNotes;
  // Controller events (delta, status, controller, value) fill what is left, spread evenly.
  const controllersPerChord = Math.max(0, Math.floor((opts.targetBytes - fixedBytes) / chords / 4));
  const body = Buffer.alloc(chords * (perChordNotes + controllersPerChord * 4) + 4);
  let pos = 0;
  const put = (...bytes: number[]): void => {
    for (const b of bytes) body[pos++] = b;
  };
  for (let c = 0; c < chords; c++) {
    const root = 48 + (c % 24);
    for (let k = 0; k < controllersPerChord; k++) put(0, 0xb0, 1, (c + k) & 0x7f);
    put(0, 0x90, root, 90);
    put(0, root + 4, 80, 0, root + 7, 80, 0, root + 12, 70);
    // Running status 0x90 with velocity 0 ends each note.
    put(chordTicks, root, 0);
    put(0, root + 4, 0, 0, root + 7, 0, 0, root + 12, 0);
  }
  put(0, 0xff, 0x2f, 0);
  const length = pos;
  const trackHeader = [0x4d, 0x54, 0x72, 0x6b, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  return Buffer.concat([Buffer.from(header), Buffer.from(trackHeader), body.subarray(0, length)]);
}
