/**
 * Fake Discord for end-to-end tests: REST + gateway + attachment CDN + voice endpoint on 127.0.0.1.
 * See README.md in this folder.
 */
export { DiscordTestServer, isSettled, startDiscordServer } from './server.js';
export type { AutocompleteInput, DiscordServerOptions, InteractionSender, SlashCommandInput } from './server.js';
export type { CdnRequest, InteractionResponse, RecordedRequest, RestFault, SentInteraction } from './state.js';
export type { StoredAttachment, StoredMessage, UploadedFile } from './store.js';
export { MessageFlag } from './store.js';
export type { FakeChannel, FakeGuild, FakeOverwrite, FakeRole, FakeUser } from './world.js';
export { Permission, MEMBER_PERMISSIONS, BOT_PERMISSIONS } from './permissions.js';
export { FakeVoiceEndpoint } from './voice-endpoint.js';
export type { ReceivedAudioPacket, VoiceConnectionRecord } from './voice-endpoint.js';
export { VOICE_TLS_CERT_PATH } from './tls-trust.js';
export { shardOfGuild } from './gateway.js';
export type { ShardTuple } from './gateway.js';
