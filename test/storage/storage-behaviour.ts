/**
 * The behaviour every storage backend must show, run against real Keyv stores
 * (SQLite in storage.test.ts, Redis and Postgres in storage.int.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { openStorage, type CorruptRecord, type ResultRecord, type Storage } from '../../src/storage/index.js';
import { openKeyv } from '../../src/storage/keyv-store.js';

export function sequenceOf(pitches: number[]): NoteSequence {
  const seq = emptySequence();
  seq.notes = pitches.map((pitch, i) => ({ pitch, velocity: 90, startStep: i * 2, endStep: i * 2 + 2, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = pitches.length * 2;
  return seq;
}

/** Every namespace openStorage writes (src/storage/index.ts). */
const CONCERNS = ['settings', 'seeds', 'corpus', 'results', 'models', 'deliveries'] as const;

export function storageBehaviour(url: () => string): void {
  let storage: Storage;
  // Unique guild ids per run so shared Redis/Postgres instances never see stale data.
  const base = BigInt(Date.now()) * 1000n;
  const guildA = String(base + 1n);
  const guildB = String(base + 2n);

  const prefix = `motif-test-${randomUUID().slice(0, 8)}`;
  const corrupt: CorruptRecord[] = [];
  beforeAll(async () => {
    storage = await openStorage(url(), { namespacePrefix: prefix, onCorrupt: (c) => corrupt.push(c) });
  });

  /** Writes `raw` as the stored text of `key` in a concern's namespace, bypassing every check. */
  // Side doors into the same namespaces, kept open: Postgres adapters share one pool per URL, so
  // disconnecting one early would close the storage's connections too.
  const sideDoors = new Map<string, ReturnType<typeof openKeyv>>();
  const sideDoor = (concern: string): ReturnType<typeof openKeyv> => {
    let keyv = sideDoors.get(concern);
    if (!keyv) sideDoors.set(concern, (keyv = openKeyv(url(), `${prefix}-${concern}`, () => undefined)));
    return keyv;
  };
  afterAll(async () => {
    await Promise.allSettled([...sideDoors.values()].map((k) => k.disconnect()));
  });

  async function writeRaw(concern: string, key: string, raw: string): Promise<void> {
    const keyv = sideDoor(concern);
    const serialize = keyv.serialize;
    keyv.serialize = () => raw;
    try {
      await keyv.set(key, 'ignored');
    } finally {
      keyv.serialize = serialize;
    }
  }

  async function readAside(concern: string, keptAs: string): Promise<{ raw: string; reason: string } | undefined> {
    return (await sideDoor(concern).get(keptAs)) as { raw: string; reason: string } | undefined;
  }
  afterAll(async () => {
    // Every namespace this run wrote is emptied first, so a shared Redis or PostgreSQL keeps nothing
    // of it (before the close: Postgres adapters share one pool, which closing ends for all).
    const cleared = await Promise.allSettled(CONCERNS.map((concern) => sideDoor(concern).clear()));
    await storage?.close();
    expect(cleared.filter((c) => c.status === 'rejected')).toEqual([]);
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

  it('GIVEN a full window WHEN a result is added without eviction and then removed (its post failed) THEN no older result was lost; trim evicts once it stays', async () => {
    for (let i = 0; i < 25; i++) await storage.results.add(resultRecord(guildA, `w${i}`));
    expect(await storage.results.add(resultRecord(guildA, 'failed'), { evict: false })).toEqual([]);
    expect(await storage.results.get(guildA, 'failed')).toBeDefined();
    await storage.results.remove(guildA, ['failed']);
    expect(await storage.results.recentIds(guildA)).toHaveLength(25);
    expect(await storage.results.get(guildA, 'w0')).toBeDefined();
    await storage.results.add(resultRecord(guildA, 'posted'), { evict: false });
    expect((await storage.results.trim(guildA)).map((r) => r.id)).toEqual(['w0']);
    expect((await storage.results.recentIds(guildA))[0]).toBe('posted');
    expect(await storage.results.recentIds(guildA)).toHaveLength(25);
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
    const model = { modelDir: `guilds/${guildA}/models/v1/`, trainedAt: 'now', trainedBy: 'u', epochs: 1, from: 'default' as const, corpusFiles: 2, metrics: { loss: 1 }, summary: 's', lossCurveKey: `guilds/${guildA}/models/v1/loss-curve.png` };
    expect(await storage.models.set(guildA, model)).toBeUndefined();
    const next = { ...model, modelDir: `guilds/${guildA}/models/v2/`, previousModelDir: model.modelDir };
    expect(await storage.models.set(guildA, next)).toEqual(model);
    expect(await storage.models.get(guildA)).toEqual(next);
    expect(await storage.models.get(guildB)).toBeUndefined();
  });

  it('GIVEN a guild model record naming a folder by absolute path (from before blobs) and no DATA_DIR to place it WHEN read THEN it is refused and kept aside, never used as a path', async () => {
    const guild = String(base + 31n);
    await storage.models.set(guild, { modelDir: '/etc/motif-model', trainedAt: 'now', trainedBy: 'u', epochs: 1, from: 'default', corpusFiles: 1, metrics: {}, summary: 's' });
    expect(await storage.models.get(guild)).toBeUndefined();
    expect(corrupt.map((c) => c.key)).toContain(guild);
  });

  it('GIVEN settings stored as bad JSON WHEN read THEN defaults come back, a warning names the key, and the raw text is kept aside', async () => {
    const guild = String(base + 10n);
    await writeRaw('settings', guild, '{"value":{"temperature":0.5,'); // cut off mid-write
    expect(await storage.settings.get(guild)).toEqual({ model: 'default', allowedChannelIds: [] });
    const warning = corrupt.find((c) => c.key === guild);
    expect(warning).toMatchObject({ namespace: `${prefix}-settings`, reason: 'not JSON' });
    expect(await readAside('settings', warning!.keptAs)).toMatchObject({ raw: '{"value":{"temperature":0.5,', reason: 'not JSON' });
    // The guild can still save settings; the copy aside stays.
    await storage.settings.update(guild, { qpm: 100 });
    expect((await storage.settings.get(guild)).qpm).toBe(100);
    expect(await readAside('settings', warning!.keptAs)).toBeDefined();
  });

  it('GIVEN settings of the wrong shape WHEN read THEN nothing of them is trusted and the schema says why', async () => {
    const guild = String(base + 11n);
    await writeRaw('settings', guild, JSON.stringify({ value: { temperature: 'hot', allowedChannelIds: '../../etc' }, expires: null }));
    expect(await storage.settings.get(guild)).toEqual({ model: 'default', allowedChannelIds: [] });
    expect(corrupt.find((c) => c.key === guild)?.reason).toMatch(/temperature/);
    // Valid JSON that is not even a Keyv record (a bare string) is refused too, not read as "missing".
    const other = String(base + 12n);
    await writeRaw('settings', other, JSON.stringify('just text'));
    expect(await storage.settings.get(other)).toEqual({ model: 'default', allowedChannelIds: [] });
    expect(corrupt.find((c) => c.key === other)?.reason).toBe('not JSON');
  });

  it('GIVEN a corpus list with one damaged entry WHEN listed THEN the good entries remain and the bad one is kept aside', async () => {
    const guild = String(base + 13n);
    const good = { id: 'good01', name: 'tune.mid', kind: 'midi', bytes: 10, noteCount: 3, addedBy: 'u', addedAt: new Date().toISOString() };
    const bad = { id: '../../x', name: 5, kind: 'exe' };
    await writeRaw('corpus', guild, JSON.stringify({ value: [good, bad], expires: null }));
    expect(await storage.corpus.list(guild)).toEqual([good]);
    const warning = corrupt.find((c) => c.key === guild);
    expect(warning?.reason).toMatch(/1 of 2 items refused/);
    expect(JSON.parse((await readAside('corpus', warning!.keptAs))!.raw)).toEqual([bad]);
  });

  it('GIVEN a result record copied under another guild WHEN fetched there THEN it is not served', async () => {
    const guild = String(base + 14n);
    const foreign = resultRecord(guildA, 'copied');
    await writeRaw('results', `${guild}:result:copied`, JSON.stringify({ value: foreign, expires: null }));
    await writeRaw('results', `${guild}:index`, JSON.stringify({ value: ['copied'], expires: null }));
    expect(await storage.results.get(guild, 'copied')).toBeUndefined();
    expect(await storage.results.recent(guild)).toEqual([]);
  });

  it('GIVEN a damaged guild model record WHEN read THEN the guild has no model (the default serves) and a warning is logged', async () => {
    const guild = String(base + 15n);
    await writeRaw('models', guild, JSON.stringify({ value: { modelDir: 42 }, expires: null }));
    expect(await storage.models.get(guild)).toBeUndefined();
    expect(corrupt.some((c) => c.key === guild && c.namespace === `${prefix}-models`)).toBe(true);
  });
}

function resultRecord(guildId: string, id: string): ResultRecord {
  return {
    id, guildId, channelId: '1', userId: '2', createdAt: new Date().toISOString(), options: { length: 2 },
    dir: `/tmp/${id}`, midiPath: 'a.mid', mp3Path: 'a.mp3', pngPath: 'a.png', durationSeconds: 1, qpm: 120, program: 0,
    keyGuess: 'C major', modelName: 'default', randomSeed: 1, sequence: sequenceOf([60, 64]),
  };
}
