import { isUtf8 } from 'node:buffer';
import { CarefulParser } from './careful-json';
import { JsonRefusal, type JsonValue } from './json-value';

export { JSON_RULES, JsonRefusal, type JsonPath, type JsonValue } from './json-value';

/**
 * A JSON body parser that keeps every byte: `parseExactJson(bytes)` answers what `JSON.parse`
 * of the UTF-8 text answers, except where `JSON.parse` would alter what was sent, which it
 * refuses or keeps exactly instead:
 *
 * - bytes that are not UTF-8 anywhere (an overlong form, a cut sequence, an encoded surrogate):
 *   refused, naming the key whose key or value holds them (Node's decoder would turn them into
 *   U+FFFD, so two different keys could become one);
 * - a lone surrogate escape (`"\ud801"`, `"\udc01"`, in a key or a value): refused, naming the
 *   key; an escaped pair (`"\ud83d\ude00"`, as Python's json.dumps writes 😀) is the character;
 * - integer literals (no fraction, no exponent): within ±2^53 a `number`; beyond it a `bigint`
 *   with the exact digits; outside int64 refused, naming the key;
 * - other numbers: the nearest `number`, as JSON.parse; one beyond a double (`1e400`, which
 *   JSON.parse makes Infinity) is refused.
 *
 * Everything else is JSON.parse's: the grammar (RFC 8259: no comments, no trailing commas, no
 * control characters in strings), `-0`, a duplicate key (the last value wins, in the first
 * one's place), and `__proto__` or `constructor` keys (own data properties of a plain object:
 * nothing reaches a prototype). A UTF-8 byte order mark before the JSON is skipped, as the
 * body reader's decoder did. Never throws: deep nesting is parsed without recursion.
 *
 * A refusal names where: `path` is the raw JSON path from the body's root to the key at fault,
 * object keys as strings and array positions as numbers (`{"a":[{"b":"\ud801"}]}` gives
 * `['a', 0, 'b']`); callers format it (`[0].a_b`, `fields.count`). It is a display path: a key
 * that is itself at fault is its last piece, with U+FFFD in place of what it could not hold.
 * `[]` means the body as a whole (not JSON, empty, or a bare value at fault).
 *
 * Speed: ordinary bodies are JSON.parse's own work, after `isUtf8` and a search for `\u` in
 * the text, and followed by a walk of the parsed value for a number at or beyond ±2^53 (a
 * body with one, or with a surrogate escape, is parsed again by the careful parser). Measured
 * with `npx ts-node --transpile-only test/micro/json-body.ts` (Node 20, best of 15 rounds, on
 * 2 cores that other work shared, load average about 6; events of about 125 bytes):
 *
 *   body                                  decode + JSON.parse   parseExactJson
 *   1 event (127 B)                             0.45 µs             0.53 µs
 *   100 events (12.8 KB)                          33 µs               35 µs
 *   500 events (64 KB)                           161 µs              183 µs
 *   100 events, emoji escaped (careful)           39 µs              194 µs
 *   100 events, a big integer each (careful)      55 µs              334 µs
 *
 * The fast path costs 5-15 % over decoding and JSON.parse; the careful path, which only bodies
 * that need it take, about 5× (a regular expression that looked for long digit runs instead
 * of the walk cost more than JSON.parse itself on 64 KB).
 *
 * Express's own JSON parser (`express.json`, body-parser's `json`) cannot replace this (issue
 * 16 item 7), whatever it costs: it is JSON.parse after the same decode, so it rounds
 * 9007199254740993, makes 1e400 Infinity, keeps lone surrogates and turns invalid UTF-8 into
 * U+FFFD, all under a 200; by default it reads only `application/json` bodies (the original
 * read any body) and refuses a top-level scalar itself. Its cost is no better either: read from
 * a stream, the same script measured body-parser's `json` at 4.07 µs, 41 µs and 194 µs for 1,
 * 100 and 500 events against 3.53 µs, 71 µs and 190 µs for `raw` + parseExactJson (the 100-event
 * gap is within this machine's noise: the parse-only figures above are the steadier ones).
 */

/** The body's bytes (after decompression) as a JSON value, or the refusal. */
export function parseExactJson(bytes: Buffer): JsonValue | JsonRefusal {
  const start = hasBom(bytes) ? 3 : 0;
  const text = bytes.toString('utf8', start);
  const valid = isUtf8(bytes);
  if (valid && !hasSurrogateEscape(text)) {
    let value: JsonValue | undefined;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      // Not JSON: the careful parser says why (empty, or not valid).
    }
    if (value !== undefined && !hasLargeNumber(value)) return value;
  }
  return new CarefulParser(text, valid ? -1 : firstBadUtf8(bytes, start)).parse();
}

/**
 * Whether `text` may hold a surrogate escape (`\uD800` to `\uDFFF`). An escaped backslash
 * before `u` (`\\ud801`, six characters of text) matches too, and takes the careful path.
 */
function hasSurrogateEscape(text: string): boolean {
  for (let at = text.indexOf('\\u'); at !== -1; at = text.indexOf('\\u', at + 2)) {
    const d = text.charCodeAt(at + 2);
    const next = text.charCodeAt(at + 3);
    if ((d === 0x64 || d === 0x44) && isHexFrom8(next)) return true;
  }
  return false;
}

/** 8, 9, a-f or A-F: the second hex digit of a surrogate. */
function isHexFrom8(c: number): boolean {
  return c === 0x38 || c === 0x39 || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

const LARGE = 2 ** 53;

/**
 * Whether JSON.parse's `value` holds a number at or beyond ±2^53 (or not finite): an integer
 * literal that JSON.parse may have rounded (9007199254740993 becomes 2^53), or 1e400 made
 * Infinity. Such a body is parsed again, carefully; a walk of the parsed value is cheaper than
 * any scan of the text for long digit runs (a regular expression over 50 KB cost 3× this).
 */
function hasLargeNumber(value: JsonValue): boolean {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'number' && !(value < LARGE && value > -LARGE);
  }
  const pending: object[] = [value];
  for (let container = pending.pop(); container !== undefined; container = pending.pop()) {
    if (Array.isArray(container)) {
      for (const item of container as unknown[]) {
        if (typeof item === 'object' && item !== null) pending.push(item);
        else if (typeof item === 'number' && !(item < LARGE && item > -LARGE)) return true;
      }
    } else {
      const object = container as Record<string, unknown>;
      for (const key in object) {
        const item = object[key];
        if (typeof item === 'object' && item !== null) pending.push(item);
        else if (typeof item === 'number' && !(item < LARGE && item > -LARGE)) return true;
      }
    }
  }
  return false;
}

function hasBom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/**
 * The index in the decoded text of the first U+FFFD that Node's decoder puts for invalid bytes
 * (or -1 when `bytes` are UTF-8): the bytes before the first invalid sequence are valid, so
 * they decode to exactly that many UTF-16 units. Only for bodies `isUtf8` refused.
 */
function firstBadUtf8(bytes: Buffer, start: number): number {
  let i = start;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length =
      b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) break;
    const second = bytes[i + 1] ?? 0;
    // The second byte's range excludes overlong forms, surrogates (ED A0..BF) and > U+10FFFF.
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) break;
    let k = 2;
    while (k < length && ((bytes[i + k] ?? 0) & 0xc0) === 0x80) k++;
    if (k < length) break;
    i += length;
  }
  return bytes.toString('utf8', start, i).length;
}
