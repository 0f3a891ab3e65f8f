import { describe, expect, it } from 'vitest';
import { isMotifError } from '../../src/errors.js';
import { opusPacketDurationMs } from '../../src/audio/ogg-opus.js';

/** TOC byte = config << 3 | stereo << 2 | frame-count code (RFC 6716 §3.1). */
const toc = (config: number, code: number, stereo = 1): number => (config << 3) | (stereo << 2) | code;

describe('opusPacketDurationMs', () => {
  it('GIVEN CELT fullband TOCs (configs 28–31) WHEN one frame per packet THEN 2.5, 5, 10 and 20 ms', () => {
    expect([28, 29, 30, 31].map((c) => opusPacketDurationMs(Uint8Array.of(toc(c, 0), 0)))).toEqual([2.5, 5, 10, 20]);
  });

  it('GIVEN SILK and hybrid TOCs THEN their frame lengths (10–60 ms and 10–20 ms)', () => {
    expect([0, 1, 2, 3].map((c) => opusPacketDurationMs(Uint8Array.of(toc(c, 0))))).toEqual([10, 20, 40, 60]);
    expect([12, 13].map((c) => opusPacketDurationMs(Uint8Array.of(toc(c, 0))))).toEqual([10, 20]);
  });

  it('GIVEN frame-count codes 1, 2 and 3 THEN two frames, two frames and the counted frames', () => {
    expect(opusPacketDurationMs(Uint8Array.of(toc(31, 1)))).toBe(40);
    expect(opusPacketDurationMs(Uint8Array.of(toc(31, 2)))).toBe(40);
    expect(opusPacketDurationMs(Uint8Array.of(toc(30, 3), 0x80 | 6))).toBe(60);
  });

  it('GIVEN the 3-byte silence frame @discordjs/voice sends THEN 20 ms', () => {
    expect(opusPacketDurationMs(Uint8Array.of(0xf8, 0xff, 0xfe))).toBe(20);
  });

  it('GIVEN an empty packet THEN AUDIO_INVALID', () => {
    let caught: unknown;
    try {
      opusPacketDurationMs(new Uint8Array(0));
    } catch (error) {
      caught = error;
    }
    expect(isMotifError(caught) && caught.code).toBe('AUDIO_INVALID');
  });
});
