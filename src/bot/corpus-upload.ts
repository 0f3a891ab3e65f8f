/**
 * /corpus add's Discord side: who asks (with their roles), the attachment as a download the guild
 * layer calls once the member and the rights statement passed, and the transcription's queue
 * position in the reply.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { addCorpusFile, type CorpusActor, type UploadRights } from '../guild/corpus.js';
import type { CorpusEntry } from '../storage/index.js';
import type { BotContext } from './context.js';
import { actorOf } from './permissions.js';
import { NO_MENTIONS } from './replies.js';
import { positionText } from './result-message.js';
import { downloadUpload, precheckAttachment } from './uploads.js';

/** The member's role ids in a guild interaction (none in an uncached or partial member). */
export function corpusActorOf(interaction: ChatInputCommandInteraction): CorpusActor {
  const roles = interaction.member?.roles;
  const roleIds = roles === undefined ? [] : Array.isArray(roles) ? roles : [...roles.cache.keys()];
  return { ...actorOf(interaction), roleIds };
}

/**
 * Adds the `file` option's attachment to the corpus. The checks that need no download are answered
 * before the reply is deferred, the download only after.
 * @throws MotifError from addCorpusFile, and FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, AUDIO_TOO_LARGE,
 *   DOWNLOAD_FAILED for the attachment.
 */
export async function addAttachedCorpusFile(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<CorpusEntry & UploadRights> {
  const actor = corpusActorOf(interaction);
  const attachment = interaction.options.getAttachment('file', true);
  return addCorpusFile(ctx, actor, {
    rights: {
      confirmed: interaction.options.getBoolean('confirm_rights'),
      licence: interaction.options.getString('licence'),
      attribution: interaction.options.getString('attribution'),
    },
    file: {
      fileName: attachment.name,
      download: async () => {
        precheckAttachment(ctx, attachment, ['midi', 'audio']);
        await interaction.deferReply();
        return downloadUpload(ctx, actor.guildId, attachment, ['midi', 'audio']);
      },
    },
    channelId: interaction.channelId,
    onQueued: (handle) => void interaction.editReply({ content: positionText('Transcribing', handle.position()), allowedMentions: NO_MENTIONS }).catch(() => undefined),
  });
}
