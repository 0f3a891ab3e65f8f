/** Seeds from a saved name or an attached MIDI file, and seed-name autocomplete. */
import type { Attachment, AutocompleteInteraction, Interaction } from 'discord.js';
import { MotifError } from '../errors.js';
import { readUploadedMidi } from '../music/midi-upload.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { attachmentKind, downloadAttachment } from './attachments.js';
import type { BotContext } from './context.js';
import { guildIdOf } from './permissions.js';

/**
 * Reads an attached MIDI file into a sequence (size-limited, parsed with MIDI limits).
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, MIDI_INVALID, MIDI_EMPTY, MIDI_LIMIT_EXCEEDED.
 */
export async function readMidiAttachment(attachment: Pick<Attachment, 'url' | 'name' | 'size'>, ctx: BotContext): Promise<NoteSequence> {
  attachmentKind(attachment.name, ['midi']);
  const bytes = await downloadAttachment(attachment, 'midi', ctx.config.maxMidiBytes);
  return readUploadedMidi(bytes, { maxBytes: ctx.config.maxMidiBytes });
}

/**
 * The seed for /compose: an attachment wins over a name.
 * @throws MotifError NOT_FOUND for an unknown seed name, plus readMidiAttachment's errors.
 */
export async function resolveSeed(
  interaction: Interaction,
  ctx: BotContext,
  opts: { seedName?: string; attachment?: Pick<Attachment, 'url' | 'name' | 'size'> },
): Promise<{ name?: string; sequence: NoteSequence } | undefined> {
  if (opts.attachment) return { sequence: await readMidiAttachment(opts.attachment, ctx) };
  if (!opts.seedName) return undefined;
  const seed = await ctx.storage.seeds.get(guildIdOf(interaction), opts.seedName);
  if (!seed) throw new MotifError('NOT_FOUND', `There is no seed called \`${opts.seedName.slice(0, 32)}\` on this server. See /seed list.`);
  return { name: seed.name, sequence: seed.sequence };
}

/** Suggests this guild's seed names containing what was typed. */
export async function seedAutocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const typed = String(interaction.options.getFocused()).toLowerCase();
  const seeds = interaction.guildId ? await ctx.storage.seeds.list(interaction.guildId) : [];
  const matches = seeds.filter((s) => s.name.includes(typed)).slice(0, 25);
  await interaction.respond(matches.map((s) => ({ name: `${s.name} (${s.noteCount} notes)`, value: s.name })));
}
