/** Seeds from a saved name or an attached MIDI file, and seed-name autocomplete. */
import type { AutocompleteInteraction, Interaction } from 'discord.js';
import { readMidiFile } from '../guild/midi-reading.js';
import { loadSeed, suggestSeeds } from '../guild/seeds.js';
import type { JobOwner } from '../jobs/queue.js';
import type { NoteSequence } from '../music/note-sequence.js';
import type { AttachmentRef } from './attachments.js';
import type { BotContext } from './context.js';
import { guildIdOf } from './permissions.js';
import { downloadUpload } from './uploads.js';

/**
 * Downloads an attached MIDI file and reads it in a worker (size-limited, MIDI limits). Call only
 * after the interaction is acknowledged: the download may take up to DOWNLOAD_TIMEOUT_SECONDS.
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, DOWNLOAD_FAILED, MIDI_INVALID, MIDI_EMPTY,
 *   MIDI_LIMIT_EXCEEDED, QUEUE_FULL.
 */
export async function readMidiAttachment(ctx: BotContext, owner: JobOwner & { maxPerUser?: number }, attachment: AttachmentRef): Promise<NoteSequence> {
  const upload = await downloadUpload(ctx, owner.guildId, attachment, ['midi']);
  try {
    const read = await readMidiFile(ctx, { ...owner, label: `read ${attachment.name.slice(0, 40)}` }, upload.path, { withSequence: true });
    if (!read.sequence) throw new Error('read-midi job returned no sequence');
    return read.sequence;
  } finally {
    await upload.discard();
  }
}

/**
 * A saved seed by name (attachments are read by the compose job itself).
 * @throws MotifError NOT_FOUND for an unknown seed name.
 */
export async function resolveSeed(interaction: Interaction, ctx: BotContext, opts: { seedName?: string }): Promise<{ name: string; sequence: NoteSequence } | undefined> {
  return opts.seedName ? loadSeed(ctx, guildIdOf(interaction), opts.seedName) : undefined;
}

/** Suggests this guild's seed names containing what was typed. */
export async function seedAutocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const matches = interaction.guildId ? await suggestSeeds(ctx, interaction.guildId, String(interaction.options.getFocused())) : [];
  await interaction.respond(matches.map((s) => ({ name: `${s.name} (${s.noteCount} notes)`, value: s.name })));
}
