/** Character classes of JSON's grammar, for the careful parser (careful-json.ts). */

/** What a backslash followed by the byte stands for in a JSON string. */
export const ESCAPES: Partial<Record<number, string>> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

export function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}
