/**
 * Edits one interaction reply with progress, in order and at a bounded rate (Discord rate-limits
 * edits), and stops using the token before it expires.
 */
import type { Client, InteractionEditReplyOptions, Message } from 'discord.js';
import type { Logger } from '../util/logger.js';

/**
 * The one reply a conversation edits: an interaction's, or (durable delivery, after a restart) the
 * same reply reached through its stored token (delivery.ts).
 */
export interface ReplyTarget {
  editReply(message: InteractionEditReplyOptions): Promise<Message>;
  readonly client: Client;
  readonly channelId: string | null;
  readonly user: { readonly id: string };
}

/** Edits closer together than this are coalesced (the latest wins). */
const MIN_EDIT_INTERVAL_MS = 1500;
/** Interaction tokens live 15 minutes; leave a margin. */
export const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

export class ProgressReporter {
  private chain: Promise<void> = Promise.resolve();
  private lastEditAt = 0;
  private pending: InteractionEditReplyOptions | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * @param startedAt when the interaction arrived (epoch ms): its token's clock starts there, also for
   *   a reply reached again after a restart.
   */
  constructor(
    private readonly interaction: ReplyTarget,
    private readonly logger: Logger,
    private readonly tokenLifetimeMs = TOKEN_LIFETIME_MS,
    private readonly startedAt = Date.now(),
  ) {}

  /** True while the interaction token can still be used. */
  get tokenAlive(): boolean {
    return Date.now() - this.startedAt < this.tokenLifetimeMs;
  }

  /** Shows `message` now if allowed, else soon; `force` skips the rate limit (state changes). */
  show(message: InteractionEditReplyOptions, opts: { force?: boolean } = {}): void {
    if (this.stopped || !this.tokenAlive) return;
    this.pending = message;
    const wait = opts.force ? 0 : this.lastEditAt + MIN_EDIT_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /**
   * Edits the reply now (after edits in flight, ignoring the rate limit) and returns the edited
   * message, e.g. to post the first files while work goes on; later progress edits keep its
   * attachments. Undefined when the edit failed (logged) or the token is gone.
   */
  async post(message: InteractionEditReplyOptions): Promise<Message | undefined> {
    if (this.stopped || !this.tokenAlive) return undefined;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastEditAt = Date.now();
    const edited = this.chain.then(async () => {
      if (this.stopped) return undefined;
      return await this.interaction.editReply(message).catch((error: unknown) => {
        this.logger.warn('posting files failed', { error });
        return undefined;
      });
    });
    this.chain = edited.then(() => undefined);
    return edited;
  }

  /**
   * Stops progress and shows the final message: by editing the reply while the token lives, after
   * that as a new message in the channel addressed to the member (the only mention allowed).
   */
  async finish(message: InteractionEditReplyOptions): Promise<void> {
    await this.stop();
    if (this.tokenAlive) {
      await this.interaction.editReply(message);
      return;
    }
    const channel = this.interaction.channelId ? await this.interaction.client.channels.fetch(this.interaction.channelId) : null;
    if (!channel?.isSendable()) throw new Error('the interaction expired and its channel cannot be written to');
    const userId = this.interaction.user.id;
    const { content, files, components } = message;
    await channel.send({
      content: `<@${userId}> ${content ?? ''}`,
      files: files ?? [],
      components: components ?? [],
      allowedMentions: { users: [userId] },
    });
  }

  /** Stops further progress edits and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const message = this.pending;
    this.pending = undefined;
    if (!message || this.stopped) return;
    this.lastEditAt = Date.now();
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      await this.interaction.editReply(message).catch((error: unknown) => this.logger.warn('progress edit failed', { error }));
    });
  }
}
