/**
 * Button custom ids. They carry only short ids (≤ 100 characters, Discord's limit); everything
 * else is looked up in storage under the clicking guild's id, so a forged id cannot reach another
 * guild's data.
 */
export type ResultAction = 'regen' | 'cont' | 'play' | 'seed';

export type ParsedCustomId =
  | { type: 'result'; action: ResultAction; resultId: string }
  | { type: 'job-cancel'; jobId: string }
  | { type: 'unknown' };

const ID = /^[A-Za-z0-9_-]{1,40}$/;

export function resultButtonId(action: ResultAction, resultId: string): string {
  return `res:${action}:${resultId}`;
}

export function cancelJobButtonId(jobId: string): string {
  return `job:cancel:${jobId}`;
}

export function parseCustomId(customId: string): ParsedCustomId {
  const parts = customId.split(':');
  const [scope, action, id] = parts;
  if (parts.length !== 3 || id === undefined || !ID.test(id)) return { type: 'unknown' };
  if (scope === 'res' && (action === 'regen' || action === 'cont' || action === 'play' || action === 'seed')) {
    return { type: 'result', action, resultId: id };
  }
  if (scope === 'job' && action === 'cancel') return { type: 'job-cancel', jobId: id };
  return { type: 'unknown' };
}
