/** Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** A gateway shard as `(guild_id >> 22) % count` picks it. */
export interface ShardRef {
  id: number;
  count: number;
}

/**
 * A generator of unique snowflakes; with `shard`, the id is one a guild on that shard would have: its
 * timestamp (the bits above 22) is the latest millisecond up to now that is `≡ shard.id (mod shard.count)`.
 */
export type SnowflakeGenerator = (shard?: ShardRef) => string;

/**
 * Returns a generator of unique Discord snowflakes. Real snowflakes matter because discord.js derives
 * `createdTimestamp` from them (so none lies in the future).
 */
export function createSnowflakeGenerator(): SnowflakeGenerator {
  let increment = 0n;
  return (shard) => {
    // One counter for all ids, so two ids of the same millisecond differ (up to 4096 per millisecond).
    increment = (increment + 1n) & 0xfffn;
    let timestampMs = BigInt(Date.now()) - DISCORD_EPOCH_MS;
    if (shard) {
      if (!Number.isInteger(shard.id) || !Number.isInteger(shard.count) || shard.id < 0 || shard.id >= shard.count) {
        throw new Error(`Invalid shard ${shard.id} of ${shard.count}`);
      }
      const count = BigInt(shard.count);
      timestampMs -= (((timestampMs - BigInt(shard.id)) % count) + count) % count;
    }
    return ((timestampMs << 22n) | (1n << 17n) | increment).toString();
  };
}
