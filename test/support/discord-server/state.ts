import { EventEmitter } from 'node:events';
import type { FakeGateway } from './gateway.js';
import type { RegisteredCommand } from './interactions.js';
import {
  MessageFlag,
  applyMessageBody,
  snapshot,
  type MessageSource,
  type StoredAttachment,
  type StoredMessage,
  type UploadedFile,
} from './store.js';
import type { SnowflakeGenerator } from './snowflake.js';
import type { FakeGuild, FakeUser, Json, World } from './world.js';

/** An HTTP request the bot made, as parsed by the server. */
export interface RecordedRequest {
  method: string;
  /** Path after `/api/v10`, percent-decoded (`/webhooks/1/tok/messages/@original`). */
  path: string;
  query: Record<string, string>;
  authorization: string | null;
  contentType: string | null;
  /** JSON body, or `payload_json` of a multipart body; null when there was none. */
  body: Json | null;
  files: UploadedFile[];
  /** HTTP status the server answered with. */
  status: number;
}

/** An interaction the harness dispatched; pass it back to the `wait…` helpers. */
export interface SentInteraction {
  id: string;
  token: string;
  type: number;
  /** Command name, or the component / modal custom_id. */
  name: string;
  guildId: string;
  channelId: string;
  userId: string;
  /** The exact INTERACTION_CREATE `d` sent on the gateway. */
  payload: Json;
}

/** What the bot has answered to one interaction so far (live object: it keeps changing). */
export interface InteractionResponse {
  interaction: SentInteraction;
  /** Callback type used: 4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete, 9 modal; null before. */
  callbackType: number | null;
  acknowledged: boolean;
  deferred: boolean;
  ephemeral: boolean;
  /** The `@original` message: the reply, or the component's message for types 6/7. */
  message: StoredMessage | null;
  followUps: StoredMessage[];
  autocompleteChoices: Json[] | null;
  modal: Json | null;
  /** Number of edits to `@original` after the acknowledgement. */
  editCount: number;
  /** True once `expireInteraction` made the token invalid (Discord's 15-minute limit). */
  expired: boolean;
  /** `performance.now()` when INTERACTION_CREATE was dispatched. */
  dispatchedAt: number;
  /** `performance.now()` when the bot's callback (reply, defer, …) arrived; null before. */
  acknowledgedAt: number | null;
  /** Index in `server.requests` of the callback request (to order it against CDN downloads); null before. */
  acknowledgedRequestIndex: number | null;
}

/** A GET (or HEAD) of the fake CDN. */
export interface CdnRequest {
  attachmentId: string;
  /** `server.requests.length` when it arrived: API requests before it have smaller indexes. */
  afterRequests: number;
  /** `performance.now()` when it arrived. */
  at: number;
}

export interface InteractionRecord {
  response: InteractionResponse;
  /** Message the component was on (component interactions only). */
  sourceMessage: StoredMessage | null;
}

/**
 * A failure the REST API answers instead of doing the request (which is then not applied, but is
 * recorded with that status), for testing retries and refused uploads: Discord's 429 with
 * `retry_after`, or a 5xx. The one fault-injection mechanism of the server (`injectRestFaults`).
 */
export interface RestFault {
  method: string;
  /** Matched against the decoded path after `/api/v10`. */
  path: RegExp;
  /** Only requests that upload files (multipart with at least one file). */
  withFiles?: boolean;
  /** A further condition, e.g. on the names of the uploaded files. */
  match?: (request: { method: string; path: string; files: readonly UploadedFile[] }) => boolean;
  status: number;
  /** For 429: seconds to wait (body `retry_after` and the `Retry-After` header). */
  retryAfterSeconds?: number;
  /** How many matching requests it answers, one after the other. Default 1. */
  times?: number;
}

/** A fault still to be served, with how many matching requests it still answers. */
export interface PendingRestFault {
  fault: RestFault;
  remaining: number;
}

/** The mutable state shared by the REST router, the gateway and the test helpers. */
/** Discord's upload limit for a server without boosts. */
export const DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024;

export class ServerState extends EventEmitter {
  readonly attachments = new Map<string, StoredAttachment>();
  readonly messages = new Map<string, StoredMessage>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  readonly globalCommands: RegisteredCommand[] = [];
  readonly guildCommands = new Map<string, RegisteredCommand[]>();
  readonly requests: RecordedRequest[] = [];
  /** Faults still to be served, in order; the first that matches a request answers it. */
  readonly restFaults: PendingRestFault[] = [];
  readonly voiceStateRequests: Json[] = [];
  readonly cdnRequests: CdnRequest[] = [];
  /** Attachment ids whose download sends its headers and then nothing (until the server closes). */
  readonly stalledAttachments = new Set<string>();
  baseUrl = '';
  gateway!: FakeGateway;
  /**
   * Largest file the bot may upload, bytes: sent as `attachment_size_limit` on every interaction,
   * and a bigger upload is refused with 413 / code 40005 as Discord does. Default 10 MiB (a server
   * without boosts).
   */
  attachmentSizeLimit = DEFAULT_ATTACHMENT_SIZE_LIMIT;
  /** Shard count GET /gateway/bot recommends (`shards`). */
  shardCount = 1;

  constructor(
    readonly world: World,
    readonly token: string,
    readonly nextId: SnowflakeGenerator,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Signals waiters that something observable changed. */
  changed(): void {
    this.emit('change');
  }

  storeAttachment(data: Buffer, filename: string, contentType: string, description: string | null = null): StoredAttachment {
    const id = this.nextId();
    const attachment: StoredAttachment = {
      id,
      filename,
      contentType,
      description,
      data,
      url: `${this.baseUrl}/attachments/${id}/${encodeURIComponent(filename)}`,
    };
    this.attachments.set(id, attachment);
    return attachment;
  }

  storeUpload = (file: UploadedFile, description: string | null): StoredAttachment =>
    this.storeAttachment(file.data, file.filename, file.contentType, description);

  createMessage(params: {
    channelId: string;
    guildId: string | null;
    source: MessageSource;
    author: FakeUser;
    body: Json;
    files: UploadedFile[];
    interactionId: string | null;
    extraFlags?: number;
  }): StoredMessage {
    const message: StoredMessage = {
      id: this.nextId(),
      channelId: params.channelId,
      guildId: params.guildId,
      source: params.source,
      author: params.author,
      content: '',
      embeds: [],
      components: [],
      attachments: [],
      flags: params.extraFlags ?? 0,
      interactionId: params.interactionId,
      allowedMentions: undefined,
      createdAt: new Date(),
      editedAt: null,
      deleted: false,
      history: [],
    };
    applyMessageBody(message, params.body, params.files, this.storeUpload);
    snapshot(message);
    this.messages.set(message.id, message);
    this.changed();
    return message;
  }

  editMessage(message: StoredMessage, body: Json, files: UploadedFile[]): void {
    applyMessageBody(message, body, files, this.storeUpload);
    message.flags &= ~MessageFlag.Loading;
    message.editedAt = new Date();
    snapshot(message);
    this.changed();
  }

  commandsFor(guildId: string | undefined): RegisteredCommand[] {
    return guildId ? (this.guildCommands.get(guildId) ?? []) : this.globalCommands;
  }

  findGuildOrThrow(guildId: string | undefined): FakeGuild {
    const guild = guildId ? this.world.guilds.find((g) => g.id === guildId) : this.world.guilds[0];
    if (!guild) throw new Error(`Unknown guild ${guildId ?? '(none)'}`);
    return guild;
  }
}

/**
 * Resolves with `check()`'s first non-undefined result, re-checking on every state change; rejects after
 * `timeoutMs` with `describe()` in the message so a failing test shows what the bot did instead.
 */
export async function waitUntil<T>(
  state: ServerState,
  check: () => T | undefined,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const first = check();
  if (first !== undefined) return first;
  return await new Promise<T>((resolve, reject) => {
    const onChange = (): void => {
      let result: T | undefined;
      try {
        result = check();
      } catch (error) {
        cleanup();
        reject(error as Error);
        return;
      }
      if (result !== undefined) {
        cleanup();
        resolve(result);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${describe()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      state.off('change', onChange);
    };
    state.on('change', onChange);
  });
}
