/**
 * /healthz: named checks, each answered 'ok' or with what went wrong, each within a deadline so a
 * dead Redis or database makes the answer 503, never a hang (a process manager's probe times out).
 */

export interface HealthReport {
  /** True when every check passed. */
  ok: boolean;
  /** Check name → 'ok', or why it failed (one line). */
  checks: Record<string, string>;
}

/** A check passes when it returns (anything) and fails when it throws or rejects. */
export type HealthCheck = () => unknown;

/** How long one check may take before it counts as failed, ms. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/**
 * Runs `checks` at once, each bounded by `timeoutMs`.
 * @returns a function that runs them all and reports; it never throws.
 */
export function healthChecks(checks: Record<string, HealthCheck>, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): () => Promise<HealthReport> {
  return async () => {
    const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => ({ name, failure: await runCheck(check, timeoutMs) })));
    return {
      ok: results.every((r) => r.failure === undefined),
      checks: Object.fromEntries(results.map((r) => [r.name, r.failure ?? 'ok'])),
    };
  };
}

/** @returns undefined when the check passed, else why it failed. */
async function runCheck(check: HealthCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
  const answer = (async () => {
    await check();
    return undefined;
  })().catch((error: unknown) => oneLine(error));
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim().slice(0, 200) || 'failed';
}
