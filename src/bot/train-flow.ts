/**
 * /train start's Discord side: the reply shows the queue position, then epoch, loss and ETA, and the
 * outcome arrives by channel message if it outlives the interaction token. The run itself (checks,
 * the job, switching the guild to the new model version) is src/guild/training.ts.
 */
import { AttachmentBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { finishGuildTraining, startGuildTraining, type TrainBudget, type TrainHandle, type TrainPlan, type TrainRequest } from '../guild/training.js';
import { isMotifError } from '../errors.js';
import type { TrainProgress } from '../jobs/motif-jobs.js';
import type { GuildModel } from '../storage/index.js';
import type { BotContext } from './context.js';
import { actorOf } from './permissions.js';
import { ProgressReporter, type ReplyTarget } from './progress-reporter.js';
import { forgetDelivery, recordDelivery } from './delivery-records.js';
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
 * to answer; once queued, the reply is deferred, a delivery record is kept (so a bot restarted
 * during the run still finishes it), and {@link followTraining} keeps the reply current.
 * @throws MotifError what startGuildTraining and finishGuildTraining throw, while the interaction token still lives.
 */
export async function runTraining(interaction: ChatInputCommandInteraction, ctx: BotContext, opts: TrainFlowOptions): Promise<GuildModel | undefined> {
  const actor = actorOf(interaction);
  const { handle, plan } = await startGuildTraining(ctx, actor, { ...opts, channelId: interaction.channelId });
  const startedAt = Date.now();
  try {
    await interaction.deferReply();
    await recordDelivery(ctx, interaction, { id: handle.id, kind: 'train', guildId: actor.guildId }, plan, startedAt);
  } catch (error) {
    await handle.cancel().catch(() => undefined);
    throw error;
  }
  return followTraining(interaction, ctx, handle, plan, { startedAt });
}

/**
 * The rest of a /train conversation, from the queued job to the outcome: for the interaction that
 * started it and, after a restart, for the same reply reached through its stored token.
 * @throws MotifError the run's error while the token lives (after it, the outcome goes to the channel), JOB_HANDED_OVER.
 */
export async function followTraining(target: ReplyTarget, ctx: BotContext, handle: TrainHandle, plan: TrainPlan, opts: { startedAt: number }): Promise<GuildModel | undefined> {
  const reporter = new ProgressReporter(target, ctx.logger, ctx.tokenLifetimeMs, opts.startedAt);
  reporter.show(progressMessage(handle.id, positionText('Training', handle.position())), { force: true });
  handle.onPosition((position) => reporter.show(progressMessage(handle.id, positionText('Training', position)), { force: true }));
  // Registered before the guild layer awaits the result, so this runs first: no progress edit lands during its clean-up.
  handle.result.catch(() => reporter.stop()).catch(() => undefined);
  const minutes = plan.budgetSeconds / 60;
  try {
    const outcome = await finishGuildTraining(ctx, plan, handle, { onProgress: (p, budget) => reporter.show(progressMessage(handle.id, trainProgressText(p, budget))) });
    await forgetDelivery(ctx, plan.guildId, handle.id);
    if (!outcome.kept) {
      await reporter.finish({
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
      ? `**Training stopped at its ${minutesText(minutes)} time budget** after ${result.completedEpochs} of ${plan.epochs} epochs. ` +
        'This server now composes with the best epoch it reached (`/model use default` switches back); for a complete run, ask for fewer epochs or ask the operator to raise TRAIN_MAX_MINUTES.'
      : '**Training finished** — this server now composes with its own model (`/model use default` switches back).';
    await reporter.finish({
      content: `${headline}\n${result.summary.slice(0, 1500)}`,
      files: [new AttachmentBuilder(outcome.lossCurve, { name: 'loss-curve.png' })],
      components: [],
      allowedMentions: NO_MENTIONS,
    });
    return outcome.model;
  } catch (error) {
    await reporter.stop();
    // This process stops and the run goes on: the record stays, and the next start finishes it.
    if (isMotifError(error) && error.code === 'JOB_HANDED_OVER') throw error;
    await forgetDelivery(ctx, plan.guildId, handle.id);
    if (reporter.tokenAlive) throw error;
    // The token is gone, so the router could not answer: say it in the channel instead.
    await reporter.finish({ content: `Training did not finish: ${describeError(error, ctx.logger, { guildId: plan.guildId, job: handle.id })}`, allowedMentions: NO_MENTIONS });
    return undefined;
  }
}

function minutesText(minutes: number): string {
  return minutes >= 1 && Number.isInteger(minutes) ? `${minutes}-minute` : `${Math.round(minutes * 60)}-second`;
}
