import { userJson, type FakeUser, type Json } from './world.js';

/** A file the fake CDN serves: uploaded by the bot or added by a test with `addAttachment`. */
export interface StoredAttachment {
  id: string;
  filename: string;
  contentType: string;
  description: string | null;
  data: Buffer;
  /** Absolute http URL on 127.0.0.1 that serves `data`. */
  url: string;
}

/** Where a message came from, so tests can tell channel posts from interaction replies. */
export type MessageSource = 'channel' | 'interaction-response' | 'follow-up' | 'test';

/** A message as the fake Discord holds it; `attachments` carry their bytes. */
export interface StoredMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  source: MessageSource;
  author: FakeUser;
  content: string;
  embeds: Json[];
  components: Json[];
  attachments: StoredAttachment[];
  /** Discord message flags: 64 = ephemeral, 128 = loading ("is thinking…"). */
  flags: number;
  /** The interaction this message answers, if any. */
  interactionId: string | null;
  /** The raw `allowed_mentions` the bot sent on the last write, to check that errors mention nobody. */
  allowedMentions: unknown;
  createdAt: Date;
  editedAt: Date | null;
  deleted: boolean;
  /** Every state the message went through (content and attachment names), oldest first. */
  history: Array<{ content: string; attachmentNames: string[]; embeds: Json[]; flags: number }>;
}

export const MessageFlag = { Ephemeral: 64, Loading: 128 } as const;

/** A file part of a multipart request. */
export interface UploadedFile {
  fieldName: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** Discord message JSON (API v10) for a stored message. */
export function messageJson(message: StoredMessage, applicationId: string): Json {
  return {
    id: message.id,
    type: message.interactionId && message.source === 'interaction-response' ? 20 : 0,
    channel_id: message.channelId,
    guild_id: message.guildId ?? undefined,
    author: userJson(message.author),
    content: message.content,
    timestamp: message.createdAt.toISOString(),
    edited_timestamp: message.editedAt?.toISOString() ?? null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: message.attachments.map(attachmentJson),
    embeds: message.embeds,
    components: message.components,
    pinned: false,
    flags: message.flags,
    webhook_id: message.source === 'channel' ? undefined : applicationId,
    application_id: message.interactionId ? applicationId : undefined,
  };
}

export function attachmentJson(attachment: StoredAttachment): Json {
  return {
    id: attachment.id,
    filename: attachment.filename,
    description: attachment.description ?? undefined,
    content_type: attachment.contentType,
    size: attachment.data.length,
    url: attachment.url,
    proxy_url: attachment.url,
  };
}

/**
 * Applies a message create/edit body the way Discord does: fields present in the body replace the
 * old ones; `attachments` (when present) is the complete new list, where an entry whose id names an
 * existing attachment keeps it and an entry whose id is an index `n` takes the upload `files[n]`.
 * Without `attachments`, uploads are appended.
 */
export function applyMessageBody(
  message: StoredMessage,
  body: Json,
  files: UploadedFile[],
  storeUpload: (file: UploadedFile, description: string | null) => StoredAttachment,
): void {
  if ('content' in body) message.content = typeof body.content === 'string' ? body.content : '';
  if ('embeds' in body) message.embeds = Array.isArray(body.embeds) ? (body.embeds as Json[]) : [];
  if ('components' in body) message.components = Array.isArray(body.components) ? (body.components as Json[]) : [];
  if ('allowed_mentions' in body) message.allowedMentions = body.allowed_mentions;
  if (typeof body.flags === 'number') {
    // Only the ephemeral bit is settable on creation; the loading bit is ours to clear.
    message.flags = (message.flags & ~MessageFlag.Ephemeral) | (body.flags & MessageFlag.Ephemeral);
  }
  const uploadsByIndex = new Map<string, UploadedFile>();
  files.forEach((file, position) => {
    const match = /^files\[(\d+)\]$/.exec(file.fieldName) ?? /^file(\d*)$/.exec(file.fieldName);
    uploadsByIndex.set(match?.[1] || String(position), file);
  });
  if (Array.isArray(body.attachments)) {
    const next: StoredAttachment[] = [];
    const used = new Set<string>();
    for (const entry of body.attachments as Json[]) {
      const id = String(entry.id);
      const description = typeof entry.description === 'string' ? entry.description : null;
      const existing = message.attachments.find((a) => a.id === id);
      const upload = uploadsByIndex.get(id);
      if (existing) next.push(existing);
      else if (upload) {
        used.add(id);
        const stored = storeUpload(upload, description);
        if (typeof entry.filename === 'string') stored.filename = entry.filename;
        next.push(stored);
      }
    }
    for (const [index, upload] of uploadsByIndex) if (!used.has(index)) next.push(storeUpload(upload, null));
    message.attachments = next;
  } else {
    for (const upload of uploadsByIndex.values()) message.attachments.push(storeUpload(upload, null));
  }
}

export function snapshot(message: StoredMessage): void {
  message.history.push({
    content: message.content,
    attachmentNames: message.attachments.map((a) => a.filename),
    embeds: message.embeds,
    flags: message.flags,
  });
}
