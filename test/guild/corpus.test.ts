/**
 * Adding to, listing and removing from a guild's corpus on real storage: SQLite records, the local
 * blob store, and the real queue whose worker threads read the MIDI and transcribe the audio.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addCorpusFile, checkRights, listCorpus, removeCorpusFile, type CorpusActor, type DownloadedFile, type RightsStatement } from '../../src/guild/corpus.js';
import { writeMidi } from '../../src/music/midi-io.js';
import { guildKeys, guildPaths } from '../../src/storage/guild-paths.js';
import { renderWav } from '../support/render-wav.js';
import { ADMIN, GUILD_A, guildModel, MEMBER, openGuildFixture, scale, withJobs, type GuildFixture, type JobsDeps } from './guild-fixture.js';

const ROLE = '400000000000000001';
const admin: CorpusActor = { ...ADMIN, roleIds: [] };
const member: CorpusActor = { ...MEMBER, roleIds: [] };
const OWN_WORK: RightsStatement = { confirmed: true, licence: 'own-work', attribution: null };

let f: GuildFixture;
let deps: JobsDeps;
beforeEach(async () => {
  f = await openGuildFixture();
  deps = withJobs(f);
});
afterEach(async () => {
  await deps.queue.close();
  await f.close();
});

/** What the bot's download leaves: a file under a random name in the guild's tmp folder. */
interface Upload {
  fileName: string;
  download(): Promise<DownloadedFile>;
  /** How often the use-case asked for the file. */
  downloads: number;
  path: string;
}

function upload(fileName: string, bytes: Uint8Array, kind: 'midi' | 'audio' = 'midi'): Upload {
  const path = join(guildPaths(f.dataDir, GUILD_A).tmpDir, `upload-${fileName.replace(/[^a-z.]/gi, '')}`);
  const u: Upload = {
    fileName,
    path,
    downloads: 0,
    download: async () => {
      u.downloads++;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      return { path, kind, bytes: bytes.length, discard: () => rm(path, { force: true }) };
    },
  };
  return u;
}

const midiBytes = (pitch = 60): Uint8Array => writeMidi(scale(pitch, 6));

describe('adding a file to the corpus', () => {
  it('GIVEN an admin and a real MIDI file WHEN added THEN the read job counts its notes, the file is stored under its key and the record lists it; nothing is left in tmp', async () => {
    const bytes = midiBytes();
    const file = upload('tune.mid', bytes);
    const entry = await addCorpusFile(deps, admin, { file, rights: OWN_WORK, channelId: '300000000000000001' });

    expect(entry).toMatchObject({ name: 'tune.mid', kind: 'midi', bytes: bytes.length, noteCount: 6, addedBy: ADMIN.userId, licence: 'own-work', rightsConfirmed: true });
    expect(entry.id).toMatch(/^[0-9a-f]{8}$/);
    expect(new Uint8Array(await deps.blobs.get(guildKeys.corpusFile(GUILD_A, entry.id)))).toEqual(bytes);
    expect(await listCorpus(deps, GUILD_A)).toEqual([entry]);
    expect(file.downloads).toBe(1);
    expect(readdirSync(guildPaths(f.dataDir, GUILD_A).tmpDir)).toEqual([]);
  });

  it('GIVEN a member with the guild corpus role WHEN they add THEN it is added; without the role THEN refused before any download', async () => {
    await f.deps.storage.settings.update(GUILD_A, { corpusRoleId: ROLE });
    const refused = upload('a.mid', midiBytes());
    await expect(addCorpusFile(deps, { ...member, roleIds: ['400000000000000099'] }, { file: refused, rights: OWN_WORK })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      userMessage: 'You need **Manage Server** or the corpus role to change the corpus.',
    });
    expect(refused.downloads).toBe(0);

    const entry = await addCorpusFile(deps, { ...member, roleIds: [ROLE] }, { file: upload('b.mid', midiBytes()), rights: OWN_WORK });
    expect(entry.addedBy).toBe(MEMBER.userId);
    expect((await listCorpus(deps, GUILD_A)).map((e) => e.id)).toEqual([entry.id]);
  });

  it('GIVEN rights not confirmed, no licence, or CC BY without credit WHEN added THEN each is refused with what to do, before any download', async () => {
    const file = upload('a.mid', midiBytes());
    const cases: [RightsStatement, string, string][] = [
      [{ confirmed: false, licence: 'own-work', attribution: null }, 'RIGHTS_NOT_CONFIRMED', 'Only add music you may share for training: your own work, public domain, or under a free licence. Set `confirm_rights` to True to confirm, and pick its `licence`.'],
      [{ confirmed: true, licence: 'all-rights-reserved', attribution: null }, 'RIGHTS_NOT_CONFIRMED', 'Pick the piece’s `licence` (own work, public domain, CC0, CC BY, CC BY-SA or another free licence).'],
      [{ confirmed: true, licence: 'cc-by', attribution: '   ' }, 'OPTION_OUT_OF_RANGE', 'CC BY requires credit: fill in `attribution` (author and source).'],
    ];
    for (const [rights, code, userMessage] of cases) {
      await expect(addCorpusFile(deps, admin, { file, rights }), JSON.stringify(rights)).rejects.toMatchObject({ code, userMessage });
    }
    expect(file.downloads).toBe(0);
    expect(await listCorpus(deps, GUILD_A)).toEqual([]);
  });

  it('GIVEN a credit line with backticks and a right-to-left override WHEN checked THEN it is kept as one clean line', () => {
    expect(checkRights({ confirmed: true, licence: 'cc-by-sa', attribution: ' J. S. `Bach`\u202e\n BWV 846 ' })).toEqual({ licence: 'cc-by-sa', attribution: 'J. S. Bach BWV 846' });
  });

  it('GIVEN a file named .mid that is not MIDI WHEN added THEN the read job refuses it and nothing is stored or left behind', async () => {
    const file = upload('fake.mid', new TextEncoder().encode('this is not a MIDI file at all'));
    await expect(addCorpusFile(deps, admin, { file, rights: OWN_WORK })).rejects.toMatchObject({ code: 'MIDI_INVALID' });
    expect(await listCorpus(deps, GUILD_A)).toEqual([]);
    expect(await deps.blobs.list(guildKeys.corpusPrefix(GUILD_A))).toEqual([]);
    expect(readdirSync(guildPaths(f.dataDir, GUILD_A).tmpDir)).toEqual([]);
  });

  it('GIVEN a piano recording WHEN added THEN it is queued for transcription (the caller hears of the job), and its MIDI is stored', async () => {
    const wav = renderWav(scale(60, 4));
    const queued: string[] = [];
    const entry = await addCorpusFile(deps, admin, {
      file: upload('recording.wav', wav, 'audio'),
      rights: { confirmed: true, licence: 'cc0', attribution: null },
      onQueued: (handle) => queued.push(handle.id),
    });

    expect(queued).toHaveLength(1);
    expect(entry).toMatchObject({ name: 'recording.wav', kind: 'audio', bytes: wav.length, licence: 'cc0' });
    expect(entry.noteCount).toBeGreaterThan(0);
    const stored = await deps.blobs.get(guildKeys.corpusFile(GUILD_A, entry.id));
    expect(stored.subarray(0, 4).toString()).toBe('MThd');
    expect(readdirSync(guildPaths(f.dataDir, GUILD_A).tmpDir)).toEqual([]);
  }, 120_000);
});

describe('removing a file from the corpus', () => {
  async function added(): Promise<string> {
    return (await addCorpusFile(deps, admin, { file: upload('tune.mid', midiBytes()), rights: OWN_WORK })).id;
  }

  it('GIVEN a file the guild model was trained on WHEN an admin removes it THEN record and file go, and the model card is marked', async () => {
    const id = await added();
    await f.deps.storage.models.set(GUILD_A, { ...guildModel(guildKeys.modelVersion(GUILD_A, 'm1')), sources: [{ id, name: 'tune.mid', licence: 'own-work', addedBy: ADMIN.userId }] });

    const { removed, modelTrainedOnIt } = await removeCorpusFile(deps, admin, id);
    expect(removed.id).toBe(id);
    expect(modelTrainedOnIt).toBe(true);
    expect(await listCorpus(deps, GUILD_A)).toEqual([]);
    expect(existsSync(join(f.dataDir, guildKeys.corpusFile(GUILD_A, id)))).toBe(false);
    expect((await f.deps.storage.models.get(GUILD_A))?.removedSources?.map((r) => r.id)).toEqual([id]);
  });

  it('GIVEN a file no model learnt from WHEN removed THEN the model is not marked', async () => {
    const id = await added();
    expect((await removeCorpusFile(deps, admin, id)).modelTrainedOnIt).toBe(false);
  });

  it('GIVEN a member without the role, or an id the guild does not have WHEN removing THEN refused and the file stays', async () => {
    const id = await added();
    await expect(removeCorpusFile(deps, member, id)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(removeCorpusFile(deps, admin, 'deadbeef')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      userMessage: 'No corpus file with id `deadbeef` on this server. See /corpus list.',
    });
    await expect(removeCorpusFile(deps, { ...admin, guildId: '100000000000000002' }, id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await listCorpus(deps, GUILD_A)).map((e) => e.id)).toEqual([id]);
    expect(readFileSync(join(f.dataDir, guildKeys.corpusFile(GUILD_A, id))).subarray(0, 4).toString()).toBe('MThd');
  });
});
