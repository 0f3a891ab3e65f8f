import { randomBytes } from 'node:crypto';

/** A short id users can quote and operators can grep in the log, e.g. "a1b2c3d4". */
export function newIncidentId(): string {
  return randomBytes(4).toString('hex');
}
