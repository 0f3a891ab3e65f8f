/** Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/**
 * Returns a generator of unique Discord snowflakes. Real snowflakes matter because discord.js derives
 * `createdTimestamp` from them.
 */
export function createSnowflakeGenerator(): () => string {
  let increment = 0n;
  return () => {
    increment = (increment + 1n) & 0xfffn;
    const timestampMs = BigInt(Date.now()) - DISCORD_EPOCH_MS;
    return ((timestampMs << 22n) | (1n << 17n) | increment).toString();
  };
}
