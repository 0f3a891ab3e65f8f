/** The General MIDI instruments offered by /compose and /settings (Discord allows 25 choices). */
export const INSTRUMENTS: readonly { name: string; program: number }[] = Object.freeze([
  { name: 'Acoustic Grand Piano', program: 0 },
  { name: 'Bright Acoustic Piano', program: 1 },
  { name: 'Electric Piano', program: 4 },
  { name: 'Harpsichord', program: 6 },
  { name: 'Celesta', program: 8 },
  { name: 'Glockenspiel', program: 9 },
  { name: 'Music Box', program: 10 },
  { name: 'Vibraphone', program: 11 },
  { name: 'Marimba', program: 12 },
  { name: 'Church Organ', program: 19 },
  { name: 'Accordion', program: 21 },
  { name: 'Nylon Guitar', program: 24 },
  { name: 'Steel Guitar', program: 25 },
  { name: 'Jazz Guitar', program: 26 },
  { name: 'Acoustic Bass', program: 32 },
  { name: 'Violin', program: 40 },
  { name: 'Cello', program: 42 },
  { name: 'Harp', program: 46 },
  { name: 'String Ensemble', program: 48 },
  { name: 'Choir Aahs', program: 52 },
  { name: 'Trumpet', program: 56 },
  { name: 'French Horn', program: 60 },
  { name: 'Alto Sax', program: 65 },
  { name: 'Clarinet', program: 71 },
  { name: 'Flute', program: 73 },
]);

export const INSTRUMENT_CHOICES = INSTRUMENTS.map((i) => ({ name: i.name, value: i.program }));

export function instrumentName(program: number): string {
  return INSTRUMENTS.find((i) => i.program === program)?.name ?? `GM program ${program}`;
}
