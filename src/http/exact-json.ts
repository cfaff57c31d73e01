import { isUtf8 } from 'node:buffer';

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

/** What a JSON body becomes: JSON's values, integers beyond ±2^53 as bigint. */
export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** A path from the body's root: object keys as strings, array positions as numbers. */
export type JsonPath = ReadonlyArray<string | number>;

/** Why a body was refused, and where (see the module comment for `path`). */
export class JsonRefusal {
  constructor(
    readonly path: JsonPath,
    readonly rule: string,
  ) {}
}

/** The rules a refusal states; `path` says where. */
export const JSON_RULES = {
  empty: 'the body must be a JSON object or array; it is empty',
  syntax: 'the body is not valid JSON',
  keyUtf8: 'the key is not valid UTF-8',
  valueUtf8: 'the value is not valid UTF-8',
  keySurrogate: 'the key holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form',
  valueSurrogate:
    'the value holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form',
  int64: 'integers must be from -9223372036854775808 to 9223372036854775807 (int64)',
  finite: 'must be a finite number (it is beyond the range of a double)',
} as const;

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

const TWO_POW_53 = 2n ** 53n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An array or object being filled; `key` is the object's current key. */
interface Frame {
  readonly container: JsonValue[] | { [key: string]: JsonValue };
  readonly isArray: boolean;
  key: string;
}

/** Thrown inside the parser only, to unwind to `parse()`. */
class Stop extends Error {
  constructor(readonly refusal: JsonRefusal) {
    super(refusal.rule);
  }
}

/** A decoded string and what, if anything, it could not hold. */
interface Decoded {
  text: string;
  fault?: 'utf8' | 'surrogate';
}

/**
 * The careful path: JSON's grammar read character by character over the decoded text, without
 * recursion. `badUtf8At` is where the text's first U+FFFD from invalid bytes is (-1: none):
 * the string that holds it is refused (before it, the text is the body's own).
 */
class CarefulParser {
  private pos: number;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly text: string,
    private readonly badUtf8At: number,
  ) {
    this.pos = 0;
  }

  parse(): JsonValue | JsonRefusal {
    try {
      this.skipSpace();
      if (this.pos >= this.text.length) return new JsonRefusal([], JSON_RULES.empty);
      const value = this.parseDocument();
      this.skipSpace();
      if (this.pos < this.text.length) this.syntax();
      return value;
    } catch (error) {
      if (error instanceof Stop) return error.refusal;
      throw error;
    }
  }

  /** Values are read in a loop, their containers kept on `stack`. */
  private parseDocument(): JsonValue {
    const text = this.text;
    for (;;) {
      this.skipSpace();
      let value: JsonValue;
      const c = text.charCodeAt(this.pos);
      if (c === 0x7b /* { */) {
        this.pos++;
        this.skipSpace();
        if (text.charCodeAt(this.pos) === 0x7d /* } */) {
          this.pos++;
          value = {};
        } else {
          const frame: Frame = { container: {}, isArray: false, key: '' };
          this.stack.push(frame);
          frame.key = this.parseKey();
          continue;
        }
      } else if (c === 0x5b /* [ */) {
        this.pos++;
        this.skipSpace();
        if (text.charCodeAt(this.pos) === 0x5d /* ] */) {
          this.pos++;
          value = [];
        } else {
          this.stack.push({ container: [], isArray: true, key: '' });
          continue;
        }
      } else {
        value = this.parseScalar(c);
      }

      // Hand the value to its container; close every container that ends here.
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) return value;
        if (top.isArray) (top.container as JsonValue[]).push(value);
        else setKey(top.container as { [key: string]: JsonValue }, top.key, value);
        this.skipSpace();
        const next = text.charCodeAt(this.pos);
        if (next === 0x2c /* , */) {
          this.pos++;
          if (!top.isArray) top.key = this.parseKey();
          break;
        }
        if (next !== (top.isArray ? 0x5d /* ] */ : 0x7d) /* } */) this.syntax();
        this.pos++;
        this.stack.pop();
        value = top.container;
      }
    }
  }

  /** `"key"` and its colon, for the object on top of the stack. */
  private parseKey(): string {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== 0x22) this.syntax();
    const key = this.parseString();
    if (key.fault !== undefined) {
      const path = this.path();
      path[path.length - 1] = key.text;
      this.refuse(path, key.fault === 'utf8' ? JSON_RULES.keyUtf8 : JSON_RULES.keySurrogate);
    }
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.syntax();
    this.pos++;
    return key.text;
  }

  private parseScalar(c: number): JsonValue {
    switch (c) {
      case 0x22 /* " */: {
        const value = this.parseString();
        if (value.fault !== undefined) {
          this.refuse(
            this.path(),
            value.fault === 'utf8' ? JSON_RULES.valueUtf8 : JSON_RULES.valueSurrogate,
          );
        }
        return value.text;
      }
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d /* - */ || isDigit(c)) return this.parseNumber();
        return this.syntax();
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.syntax();
    this.pos += word.length;
    return value;
  }

  /** A number by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private parseNumber(): number | bigint {
    const text = this.text;
    const start = this.pos;
    let i = start;
    if (text.charCodeAt(i) === 0x2d) i++;
    if (text.charCodeAt(i) === 0x30) i++;
    else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
    else this.syntax();
    const digits = i - start - (text.charCodeAt(start) === 0x2d ? 1 : 0);
    let integer = true;
    if (text.charCodeAt(i) === 0x2e /* . */) {
      integer = false;
      i++;
      if (!isDigit(text.charCodeAt(i))) this.syntax();
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45 /* e E */) {
      integer = false;
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) this.syntax();
      while (isDigit(text.charCodeAt(i))) i++;
    }
    this.pos = i;
    const literal = text.slice(start, i);
    if (integer && digits > 15) {
      const exact = BigInt(literal);
      if (exact < INT64_MIN || exact > INT64_MAX) this.refuse(this.path(), JSON_RULES.int64);
      return exact > TWO_POW_53 || exact < -TWO_POW_53 ? exact : Number(exact);
    }
    const value = Number(literal);
    if (!Number.isFinite(value)) this.refuse(this.path(), JSON_RULES.finite);
    return value;
  }

  /** The string at `pos` (its opening quote), decoded; `fault` says what it could not hold. */
  private parseString(): Decoded {
    const text = this.text;
    const open = this.pos;
    let i = open + 1;
    let chunk = i;
    let value = '';
    let fault: Decoded['fault'];
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x22 /* " */) break;
      if (c === 0x5c /* \ */) {
        value += text.slice(chunk, i);
        const escape = text.charCodeAt(i + 1);
        if (escape === 0x75 /* u */) {
          let unit = this.hex4(i + 2);
          i += 6;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low =
              text.charCodeAt(i) === 0x5c && text.charCodeAt(i + 1) === 0x75
                ? this.hex4(i + 2)
                : -1;
            if (low >= 0xdc00 && low <= 0xdfff) {
              value += String.fromCharCode(unit, low);
              i += 6;
              chunk = i;
              continue;
            }
            fault ??= 'surrogate';
            unit = 0xfffd;
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fault ??= 'surrogate';
            unit = 0xfffd;
          }
          value += String.fromCharCode(unit);
        } else {
          const char = ESCAPES[escape];
          if (char === undefined) this.syntax();
          value += char;
          i += 2;
        }
        chunk = i;
        continue;
      }
      // Control characters (and the end of the text, NaN) cannot be in a JSON string.
      if (!(c >= 0x20)) this.syntax();
      i++;
    }
    value += text.slice(chunk, i);
    this.pos = i + 1;
    if (this.badUtf8At > open && this.badUtf8At < i) fault = 'utf8';
    return fault === undefined ? { text: value } : { text: value, fault };
  }

  private hex4(at: number): number {
    let unit = 0;
    for (let i = at; i < at + 4; i++) {
      const digit = hexDigit(this.text.charCodeAt(i));
      if (digit < 0) this.syntax();
      unit = unit * 16 + digit;
    }
    return unit;
  }

  private skipSpace(): void {
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.pos);
  }

  /** The path to the value being read: each open container's key or position. */
  private path(): Array<string | number> {
    return this.stack.map((frame) =>
      frame.isArray ? (frame.container as JsonValue[]).length : frame.key,
    );
  }

  private refuse(path: JsonPath, rule: string): never {
    throw new Stop(new JsonRefusal(path, rule));
  }

  private syntax(): never {
    throw new Stop(new JsonRefusal([], JSON_RULES.syntax));
  }
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

/** As JSON.parse sets a key: an own data property, `__proto__` included; the last one wins. */
function setKey(object: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

const ESCAPES: Partial<Record<number, string>> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}
