/**
 * The behaviour every storage backend must show, run against real Keyv stores
 * (SQLite in storage.test.ts, Redis and Postgres in storage.int.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { openStorage, type ResultRecord, type Storage } from '../../src/storage/index.js';

export function sequenceOf(pitches: number[]): NoteSequence {
  const seq = emptySequence();
  seq.notes = pitches.map((pitch, i) => ({ pitch, velocity: 90, startStep: i * 2, endStep: i * 2 + 2, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = pitches.length * 2;
  return seq;
}

export function storageBehaviour(url: () => string): void {
  let storage: Storage;
  // Unique guild ids per run so shared Redis/Postgres instances never see stale data.
  const base = BigInt(Date.now()) * 1000n;
  const guildA = String(base + 1n);
  const guildB = String(base + 2n);

  beforeAll(async () => {
    storage = await openStorage(url(), { namespacePrefix: `motif-test-${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await storage?.close();
  });

  it('GIVEN a fresh guild WHEN settings are read THEN defaults come back, and a patch persists per guild only', async () => {
    expect(await storage.settings.get(guildA)).toEqual({ model: 'default', allowedChannelIds: [] });
    await storage.settings.update(guildA, { temperature: 0.8, allowedChannelIds: ['123'] });
    await storage.settings.update(guildA, { qpm: 90 });
    expect(await storage.settings.get(guildA)).toEqual({ model: 'default', allowedChannelIds: ['123'], temperature: 0.8, qpm: 90 });
    await storage.settings.update(guildA, { temperature: null });
    expect((await storage.settings.get(guildA)).temperature).toBeUndefined();
    expect(await storage.settings.get(guildB)).toEqual({ model: 'default', allowedChannelIds: [] });
  });

  it('GIVEN seeds saved in one guild WHEN listed, fetched and deleted THEN the other guild never sees them', async () => {
    const now = new Date().toISOString();
    await storage.seeds.save(guildA, { name: 'Opening Theme', sequence: sequenceOf([60, 62, 64]), createdBy: 'u1', createdAt: now, source: 'a.mid' });
    await storage.seeds.save(guildA, { name: 'bass', sequence: sequenceOf([40]), createdBy: 'u1', createdAt: now, source: 'b.mid' });
    expect((await storage.seeds.list(guildA)).map((s) => [s.name, s.noteCount])).toEqual([['bass', 1], ['opening theme', 3]]);
    expect((await storage.seeds.get(guildA, 'OPENING theme'))?.sequence.notes.map((n) => n.pitch)).toEqual([60, 62, 64]);
    expect(await storage.seeds.get(guildB, 'opening theme')).toBeUndefined();
    expect(await storage.seeds.list(guildB)).toEqual([]);
    await expect(
      storage.seeds.save(guildA, { name: 'bass', sequence: sequenceOf([41]), createdBy: 'u2', createdAt: now, source: 'c.mid' }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await storage.seeds.delete(guildB, 'bass')).toBe(false);
    expect(await storage.seeds.delete(guildA, 'bass')).toBe(true);
    expect(await storage.seeds.get(guildA, 'bass')).toBeUndefined();
    expect((await storage.seeds.list(guildA)).map((s) => s.name)).toEqual(['opening theme']);
  });

  it('GIVEN a bad seed name or an empty sequence WHEN saved THEN a MotifError says why and nothing is stored', async () => {
    const now = new Date().toISOString();
    const bad = storage.seeds.save(guildB, { name: '../etc', sequence: sequenceOf([60]), createdBy: 'u', createdAt: now, source: 'x' });
    await expect(bad).rejects.toBeInstanceOf(MotifError);
    const empty = storage.seeds.save(guildB, { name: 'empty', sequence: sequenceOf([]), createdBy: 'u', createdAt: now, source: 'x' });
    await expect(empty).rejects.toMatchObject({ code: 'MIDI_EMPTY' });
    expect(await storage.seeds.list(guildB)).toEqual([]);
  });

  it('GIVEN corpus entries WHEN added and removed THEN the list follows and stays per guild', async () => {
    const entry = { id: 'abc123', name: 'tune.mid', kind: 'midi' as const, bytes: 100, noteCount: 12, addedBy: 'u1', addedAt: new Date().toISOString() };
    await storage.corpus.add(guildA, entry);
    await expect(storage.corpus.add(guildA, entry)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await storage.corpus.list(guildA)).toEqual([entry]);
    expect(await storage.corpus.list(guildB)).toEqual([]);
    expect(await storage.corpus.remove(guildB, 'abc123')).toBeUndefined();
    expect(await storage.corpus.remove(guildA, 'abc123')).toEqual(entry);
    expect(await storage.corpus.list(guildA)).toEqual([]);
  });

  it('GIVEN more results than the window WHEN added THEN the oldest are evicted and returned, newest first', async () => {
    const ids: string[] = [];
    let evicted: ResultRecord[] = [];
    for (let i = 0; i < 27; i++) {
      const id = `r${i}`;
      ids.push(id);
      evicted = evicted.concat(await storage.results.add(resultRecord(guildA, id)));
    }
    expect(evicted.map((r) => r.id)).toEqual(['r0', 'r1']);
    const recent = await storage.results.recent(guildA, 3);
    expect(recent.map((r) => r.id)).toEqual(['r26', 'r25', 'r24']);
    expect(recent[0]?.sequence.notes).toHaveLength(2);
    expect(await storage.results.get(guildA, 'r0')).toBeUndefined();
    expect(await storage.results.get(guildB, 'r26')).toBeUndefined();
  });

  it('GIVEN concurrent seed saves in one guild WHEN they settle THEN the index holds every one of them', async () => {
    const now = new Date().toISOString();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        storage.seeds.save(guildB, { name: `s${i}`, sequence: sequenceOf([60 + i]), createdBy: 'u', createdAt: now, source: 'x' }),
      ),
    );
    expect((await storage.seeds.list(guildB)).map((s) => s.name)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
  });

  it('GIVEN a guild model WHEN replaced THEN the previous one is returned for clean-up', async () => {
    const model = { modelDir: '/m/1', trainedAt: 'now', trainedBy: 'u', epochs: 1, from: 'default' as const, corpusFiles: 2, metrics: { loss: 1 }, summary: 's', lossCurvePngPath: '/m/1/loss.png' };
    expect(await storage.models.set(guildA, model)).toBeUndefined();
    expect(await storage.models.set(guildA, { ...model, modelDir: '/m/2' })).toEqual(model);
    expect((await storage.models.get(guildA))?.modelDir).toBe('/m/2');
    expect(await storage.models.get(guildB)).toBeUndefined();
  });
}

function resultRecord(guildId: string, id: string): ResultRecord {
  return {
    id, guildId, channelId: '1', userId: '2', createdAt: new Date().toISOString(), options: { length: 2 },
    dir: `/tmp/${id}`, midiPath: 'a.mid', mp3Path: 'a.mp3', pngPath: 'a.png', durationSeconds: 1, qpm: 120, program: 0,
    keyGuess: 'C major', modelName: 'default', randomSeed: 1, sequence: sequenceOf([60, 64]),
  };
}
