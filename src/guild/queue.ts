/**
 * A guild's view of the job queue: what its jobs are doing, and cancelling one. Members cancel their
 * own jobs; a member who may manage the server cancels any of the guild's (the queue enforces both,
 * and refuses jobs of other guilds as unknown).
 */
import type { Lane } from '../jobs/queue.js';
import type { GuildActor, JobDeps } from './guild-deps.js';

/** One of a guild's jobs, as a list shows it. */
export interface GuildJob {
  id: string;
  /** What the job does, e.g. "compose length 100". */
  label: string;
  /** The lane it waits in: each lane has its own workers, so a compose is not stuck behind a training run. */
  lane: Lane;
  running: boolean;
  /** 0 while running; 1 = next in line in its lane. */
  position: number;
  /** Who asked. */
  userId: string;
}

/**
 * The guild's waiting and running jobs, in the queue's order.
 * @throws MotifError QUEUE_UNAVAILABLE when the queue cannot be asked.
 */
export async function listGuildJobs(deps: Pick<JobDeps, 'queue'>, guildId: string): Promise<GuildJob[]> {
  const jobs = await deps.queue.list({ guildId });
  return jobs.map((j) => ({ id: j.id, label: j.label, lane: j.lane, running: j.state === 'running', position: j.position, userId: j.userId }));
}

/**
 * Cancels one of the guild's jobs for `actor`: their own, or any when they may manage the server.
 * @throws MotifError NOT_FOUND (no such job in this guild), PERMISSION_DENIED (someone else's job), QUEUE_UNAVAILABLE.
 */
export async function cancelGuildJob(deps: Pick<JobDeps, 'queue'>, actor: GuildActor, jobId: string): Promise<void> {
  await deps.queue.cancel(jobId, { guildId: actor.guildId, userId: actor.userId, isAdmin: actor.isAdmin });
}
