/**
 * /train start's Discord side: the reply shows the queue position, then epoch, loss and ETA, and the
 * outcome arrives by channel message if it outlives the interaction token. The run itself (checks,
 * the job, switching the guild to the new model version) is src/guild/training.ts.
 */
import { AttachmentBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { runGuildTraining, type TrainBudget, type TrainRequest } from '../guild/training.js';
import type { TrainProgress } from '../jobs/motif-jobs.js';
import type { GuildModel } from '../storage/index.js';
import type { BotContext } from './context.js';
import { actorOf } from './permissions.js';
import { ProgressReporter } from './progress-reporter.js';
import { progressMessage, positionText } from './result-message.js';
import { NO_MENTIONS, describeError } from './replies.js';

export type TrainFlowOptions = Pick<TrainRequest, 'epochs' | 'from'>;

/**
 * @param budget time left of TRAIN_MAX_MINUTES, when known: an ETA past it would promise epochs the
 *   run will not reach, so the admin is told when it will stop instead.
 */
export function trainProgressText(p: TrainProgress, budget?: TrainBudget): string {
  const head = `Training: epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`;
  if (budget && p.etaSeconds > budget.leftSeconds) {
    return `${head}; stops at its ${minutesText(budget.minutes)} time budget in about ${durationText(Math.max(0, budget.leftSeconds))}, keeping its best epoch.`;
  }
  return `${head}, about ${durationText(p.etaSeconds)} left.`;
}

function durationText(seconds: number): string {
  return seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
}

/**
 * Runs /train start for the interaction's admin: refusals before the queue are thrown for the router
 * to answer; once queued, the reply is deferred and kept current.
 * @throws MotifError what runGuildTraining throws, while the interaction token still lives.
 */
export async function runTraining(interaction: ChatInputCommandInteraction, ctx: BotContext, opts: TrainFlowOptions): Promise<GuildModel | undefined> {
  const actor = actorOf(interaction);
  let reporter: ProgressReporter | undefined;
  let jobId: string | undefined;
  const minutes = ctx.config.trainMaxMinutes;
  try {
    const outcome = await runGuildTraining(ctx, actor, { ...opts, channelId: interaction.channelId }, {
      onQueued: async (handle) => {
        jobId = handle.id;
        await interaction.deferReply();
        const shown = new ProgressReporter(interaction, ctx.logger, ctx.tokenLifetimeMs);
        reporter = shown;
        shown.show(progressMessage(handle.id, positionText('Training', handle.position())), { force: true });
        handle.onPosition((position) => shown.show(progressMessage(handle.id, positionText('Training', position)), { force: true }));
        // Registered before the guild layer awaits the result, so this runs first: no progress edit lands during its clean-up.
        handle.result.catch(() => shown.stop()).catch(() => undefined);
      },
      onProgress: (p, budget) => reporter?.show(progressMessage(jobId!, trainProgressText(p, budget))),
    });
    if (!outcome.kept) {
      await reporter!.finish({
        content:
          `**Training stopped at its ${minutesText(minutes)} time budget** before one pass over the corpus finished, ` +
          'which is too little for a model trained from scratch to compose with, so nothing was kept and this server keeps its current model. ' +
          'Run `/train start from:default` (fine-tuning gets further in the same time), or ask the operator to raise TRAIN_MAX_MINUTES.',
        components: [],
        allowedMentions: NO_MENTIONS,
      });
      return undefined;
    }
    const { result } = outcome;
    const headline = result.stoppedAtTimeBudget
      ? `**Training stopped at its ${minutesText(minutes)} time budget** after ${result.completedEpochs} of ${opts.epochs} epochs. ` +
        'This server now composes with the best epoch it reached (`/model use default` switches back); for a complete run, ask for fewer epochs or ask the operator to raise TRAIN_MAX_MINUTES.'
      : '**Training finished** — this server now composes with its own model (`/model use default` switches back).';
    await reporter!.finish({
      content: `${headline}\n${result.summary.slice(0, 1500)}`,
      files: [new AttachmentBuilder(outcome.lossCurve, { name: 'loss-curve.png' })],
      components: [],
      allowedMentions: NO_MENTIONS,
    });
    return outcome.model;
  } catch (error) {
    // Refused before the queue (or the deferral failed): the router answers.
    if (!reporter) throw error;
    await reporter.stop();
    if (reporter.tokenAlive) throw error;
    // The token is gone, so the router could not answer: say it in the channel instead.
    await reporter.finish({ content: `Training did not finish: ${describeError(error, ctx.logger, { guildId: actor.guildId, job: jobId })}`, allowedMentions: NO_MENTIONS });
    return undefined;
  }
}

function minutesText(minutes: number): string {
  return minutes >= 1 && Number.isInteger(minutes) ? `${minutes}-minute` : `${Math.round(minutes * 60)}-second`;
}
