/** The message that shows a finished composition: summary, the three files, and the buttons. */
import { basename } from 'node:path';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, type Attachment, type InteractionEditReplyOptions } from 'discord.js';
import type { ComposeFirstFiles } from '../jobs/compose-contract.js';
import { formatBytes } from '../music/midi-limits.js';
import type { ResultRecord } from '../storage/index.js';
import { cancelJobButtonId, resultButtonId } from './custom-ids.js';
import { isStyleName, STYLES } from '../jobs/styles.js';
import { instrumentName } from './instruments.js';

export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** One line per fact; no mentions are possible (allowedMentions is empty anyway). */
export function resultSummary(record: ResultRecord, extra: { generatedEvents: number; longestCopiedRun?: number }): string {
  const originality =
    extra.longestCopiedRun === undefined ? 'not measured' : `longest run copied from training data: ${extra.longestCopiedRun} notes`;
  return [
    `**Composed ${extra.generatedEvents} notes-or-chords**${record.options.continuedFrom ? ` (continuing \`${record.options.continuedFrom}\`)` : ''}${record.options.seedName ? ` from seed \`${record.options.seedName}\`` : ''}`,
    `Duration ${formatDuration(record.durationSeconds)} · ${Math.round(record.qpm)} BPM · ${instrumentName(record.program)} · key guess ${record.keyGuess}`,
    `${record.options.style && isStyleName(record.options.style) ? `Style ${STYLES[record.options.style].label} · ` : ''}Model \`${record.modelName}\` · random seed ${record.randomSeed} · ${originality}`,
    `Result \`${record.id}\``,
  ].join('\n');
}

export function resultButtons(resultId: string, opts: { voice: boolean }): ActionRowBuilder<ButtonBuilder> {
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(resultButtonId('regen', resultId)).setLabel('Regenerate').setStyle(ButtonStyle.Primary),
    new ButtonBuilder().setCustomId(resultButtonId('cont', resultId)).setLabel('Continue').setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(resultButtonId('play', resultId)).setLabel('Play in voice').setStyle(ButtonStyle.Secondary).setDisabled(!opts.voice),
    new ButtonBuilder().setCustomId(resultButtonId('seed', resultId)).setLabel('Save as seed').setStyle(ButtonStyle.Secondary),
  );
  return row;
}

export interface ResultMessageExtra {
  generatedEvents: number;
  longestCopiedRun?: number;
  voice: boolean;
  /** About the audio, shown under the summary: why there is none, or why it is compressed harder. */
  audioNote?: string;
  /**
   * Attachments already on the reply (the MIDI and piano roll posted first): kept, and only the
   * audio is uploaded. Without it every file is uploaded.
   */
  posted?: readonly Attachment[];
}

export function resultMessage(record: ResultRecord, extra: ResultMessageExtra): InteractionEditReplyOptions {
  const all = [record.midiPath, record.mp3Path, record.pngPath].filter((path) => path !== '');
  const postedNames = new Set((extra.posted ?? []).map((a) => a.name));
  const kept = (extra.posted ?? []).filter((a) => all.some((path) => basename(path) === a.name));
  const upload = all.filter((path) => !postedNames.has(basename(path)));
  return {
    content: [resultSummary(record, extra), ...(extra.audioNote ? [extra.audioNote] : [])].join('\n'),
    files: upload.map((path) => new AttachmentBuilder(path, { name: basename(path) })),
    ...(extra.posted ? { attachments: [...kept] } : {}),
    components: [resultButtons(record.id, { voice: extra.voice })],
    allowedMentions: { parse: [] },
  };
}

/**
 * The line about the audio: why there is none, or, when it had to be compressed below MP3 192 kb/s
 * to fit the upload limit, which format and bitrate it got. Undefined for the usual MP3.
 */
export function audioNote(
  result: { audio?: { format: 'mp3' | 'ogg-opus'; bitrateKbps: number }; audioSkipped?: string },
  limitBytes: number,
  bestKbps: number,
): string | undefined {
  if (result.audioSkipped) return result.audioSkipped;
  const audio = result.audio;
  if (!audio || (audio.format === 'mp3' && audio.bitrateKbps >= bestKbps)) return undefined;
  const format = audio.format === 'mp3' ? 'MP3' : 'Ogg/Opus';
  return `Audio: ${format} at ${audio.bitrateKbps} kb/s, so that it fits this server's ${formatBytes(limitBytes)} upload limit.`;
}

/**
 * The first post of a compose, as soon as the MIDI and piano roll exist: both files, what the
 * piece is, and that the audio follows (with Cancel, since the job still runs).
 */
export function firstFilesMessage(jobId: string, files: ComposeFirstFiles): InteractionEditReplyOptions {
  return {
    ...progressMessage(jobId, firstFilesText(files)),
    files: [files.midiPath, files.pngPath].map((path) => new AttachmentBuilder(path, { name: basename(path) })),
  };
}

/** The first post's text; later progress edits repeat it with the audio's percentage. */
export function firstFilesText(files: ComposeFirstFiles, percent?: number): string {
  return `**MIDI and piano roll ready** · ${formatDuration(files.durationSeconds)} · ${Math.round(files.qpm)} BPM · key guess ${files.keyGuess}\nRendering the audio…${percent === undefined ? '' : ` ${percent}%`}`;
}

/** While waiting or running: where the job is, with a Cancel button. */
export function progressMessage(jobId: string, text: string): InteractionEditReplyOptions {
  return {
    content: text,
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId(cancelJobButtonId(jobId)).setLabel('Cancel').setStyle(ButtonStyle.Danger),
      ),
    ],
    allowedMentions: { parse: [] },
  };
}

export function positionText(what: string, position: number): string {
  return position <= 0 ? `${what}: starting…` : `${what}: waiting in the queue — position ${position}.`;
}
