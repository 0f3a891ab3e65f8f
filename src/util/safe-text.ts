/**
 * User-supplied names (file names, credits) as they may appear in replies: one line, no control
 * characters, no bidirectional overrides (which can make "evil.exe" read as "exe.live"), no
 * backticks that would break the code span they are shown in, and a bounded length. They are
 * only ever shown, never used to build a path (files are stored under generated ids).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069`]/g;

export function displayText(text: string, maxChars = 100): string {
  const clean = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...clean];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : clean || '(no name)';
}
