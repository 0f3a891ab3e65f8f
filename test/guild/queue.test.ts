/**
 * A guild's jobs on the real in-process queue, with a fixture processor that runs until cancelled
 * in place of composing (the queue rules do not depend on what a job does).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelGuildJob, listGuildJobs } from '../../src/guild/queue.js';
import type { ComposeJobData } from '../../src/jobs/motif-jobs.js';
import { ADMIN, GUILD_A, GUILD_B, MEMBER, openGuildFixture, withJobs, type GuildFixture, type JobsDeps } from './guild-fixture.js';

const FIXTURES = new URL('../jobs/fixtures/processors.ts', import.meta.url).href;
const OTHER_MEMBER = { ...MEMBER, userId: '200000000000000003' };

let f: GuildFixture;
let deps: JobsDeps;
beforeEach(async () => {
  f = await openGuildFixture();
  deps = withJobs(f, { processors: { compose: { kind: 'worker', moduleUrl: FIXTURES, exportName: 'untilAborted' } } });
});
afterEach(async () => {
  await deps.queue.close();
  await f.close();
});

/** Queues a job that runs until cancelled; the fixture processor reads none of its data. */
async function queueJob(who: { guildId: string; userId: string }, label: string): Promise<{ id: string; result: Promise<unknown> }> {
  const handle = await deps.queue.enqueue('compose', {} as ComposeJobData, { guildId: who.guildId, userId: who.userId, label });
  handle.result.catch(() => undefined);
  return handle;
}

describe("a guild's queue", () => {
  it("GIVEN jobs of two guilds WHEN a guild lists its own THEN it sees only them, as display data: lane, running or its position (the other guild's job, fairly, goes first)", async () => {
    const running = await queueJob(MEMBER, 'compose length 100');
    const waiting = await queueJob(OTHER_MEMBER, 'compose length 8');
    await queueJob({ guildId: GUILD_B, userId: MEMBER.userId }, 'compose length 50');

    expect(await listGuildJobs(deps, GUILD_A)).toEqual([
      { id: running.id, label: 'compose length 100', lane: 'interactive', running: true, position: 0, userId: MEMBER.userId },
      { id: waiting.id, label: 'compose length 8', lane: 'interactive', running: false, position: 2, userId: OTHER_MEMBER.userId },
    ]);
  });

  it("GIVEN another member's job WHEN a member cancels it THEN PERMISSION_DENIED and it goes on; their own they may cancel", async () => {
    const theirs = await queueJob(OTHER_MEMBER, 'compose length 8');
    const mine = await queueJob(MEMBER, 'compose length 8');

    await expect(cancelGuildJob(deps, MEMBER, theirs.id)).rejects.toMatchObject({ code: 'PERMISSION_DENIED', userMessage: 'You can only cancel your own jobs.' });
    await cancelGuildJob(deps, MEMBER, mine.id);
    await expect(mine.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect((await listGuildJobs(deps, GUILD_A)).map((j) => j.id)).toEqual([theirs.id]);
  });

  it("GIVEN a member's job WHEN an admin cancels it THEN it ends; a job of another guild is not found even for an admin", async () => {
    const job = await queueJob(MEMBER, 'compose length 8');
    const elsewhere = await queueJob({ guildId: GUILD_B, userId: ADMIN.userId }, 'compose length 8');

    await cancelGuildJob(deps, ADMIN, job.id);
    await expect(job.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    await expect(cancelGuildJob(deps, ADMIN, elsewhere.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await listGuildJobs(deps, GUILD_B)).map((j) => j.id)).toEqual([elsewhere.id]);
  });
});
