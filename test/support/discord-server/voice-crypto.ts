import { createDecipheriv } from 'node:crypto';

/** Voice encryption modes the endpoint offers, in preference order (Discord's names). */
export type VoiceEncryptionMode = 'aead_aes256_gcm_rtpsize' | 'aead_xchacha20_poly1305_rtpsize';

export const VOICE_ENCRYPTION_MODES: VoiceEncryptionMode[] = ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'];

const TAG_BYTES = 16;
const NONCE_SUFFIX_BYTES = 4;

/** A parsed, decrypted RTP voice packet. */
export interface DecryptedRtp {
  sequence: number;
  /** RTP timestamp in 48 kHz samples. */
  timestamp: number;
  ssrc: number;
  /** Incrementing 32-bit nonce the sender appended. */
  nonce: number;
  /** The Opus packet (after removing any RTP header-extension body). */
  opus: Buffer;
}

/**
 * Decrypts one "rtpsize" voice packet: the RTP header (12 bytes + CSRCs + the 4-byte extension preamble) is
 * the AAD and stays clear; then ciphertext, a 16-byte tag, and the 4-byte big-endian nonce counter that
 * pads the AEAD nonce with zeros.
 * @throws Error when the packet is not RTP or fails authentication (wrong key or tampered bytes).
 */
export function decryptRtpSize(packet: Buffer, mode: VoiceEncryptionMode, secretKey: Buffer): DecryptedRtp {
  if (packet.length < 12 + TAG_BYTES + NONCE_SUFFIX_BYTES || (packet[0]! & 0xc0) !== 0x80) {
    throw new Error(`Not an RTP packet (${packet.length} bytes)`);
  }
  const csrcCount = packet[0]! & 0x0f;
  const hasExtension = (packet[0]! & 0x10) !== 0;
  const headerBytes = 12 + 4 * csrcCount + (hasExtension ? 4 : 0);
  const aad = packet.subarray(0, headerBytes);
  const nonceSuffix = packet.subarray(packet.length - NONCE_SUFFIX_BYTES);
  const tag = packet.subarray(packet.length - NONCE_SUFFIX_BYTES - TAG_BYTES, packet.length - NONCE_SUFFIX_BYTES);
  const ciphertext = packet.subarray(headerBytes, packet.length - NONCE_SUFFIX_BYTES - TAG_BYTES);
  let plain: Buffer;
  if (mode === 'aead_aes256_gcm_rtpsize') {
    const nonce = Buffer.alloc(12);
    nonceSuffix.copy(nonce, 0);
    const decipher = createDecipheriv('aes-256-gcm', secretKey, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } else {
    const nonce = Buffer.alloc(24);
    nonceSuffix.copy(nonce, 0);
    plain = xchacha20Poly1305Decrypt(secretKey, nonce, aad, ciphertext, tag);
  }
  const extensionBodyBytes = hasExtension ? 4 * packet.readUInt16BE(headerBytes - 2) : 0;
  return {
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    nonce: nonceSuffix.readUInt32BE(0),
    opus: plain.subarray(extensionBodyBytes),
  };
}

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): HChaCha20 derives a subkey from the first 16 nonce bytes,
 * then IETF ChaCha20-Poly1305 (which node:crypto has) runs with nonce = 4 zero bytes + the last 8.
 * @throws Error when authentication fails.
 */
export function xchacha20Poly1305Decrypt(key: Buffer, nonce24: Buffer, aad: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  const subkey = hchacha20(key, nonce24.subarray(0, 16));
  const nonce12 = Buffer.concat([Buffer.alloc(4), nonce24.subarray(16, 24)]);
  const decipher = createDecipheriv('chacha20-poly1305', subkey, nonce12, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad, { plaintextLength: ciphertext.length });
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** HChaCha20 (key 32 bytes, nonce 16 bytes) → 32-byte subkey. */
export function hchacha20(key: Buffer, nonce16: Buffer): Buffer {
  const s = new Uint32Array(16);
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(i * 4);
  const rotl = (v: number, n: number): number => ((v << n) | (v >>> (32 - n))) >>> 0;
  const quarter = (a: number, b: number, c: number, d: number): void => {
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 7);
  };
  for (let round = 0; round < 10; round++) {
    quarter(0, 4, 8, 12);
    quarter(1, 5, 9, 13);
    quarter(2, 6, 10, 14);
    quarter(3, 7, 11, 15);
    quarter(0, 5, 10, 15);
    quarter(1, 6, 11, 12);
    quarter(2, 7, 8, 13);
    quarter(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[i]!, i * 4);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[12 + i]!, 16 + i * 4);
  return out;
}
