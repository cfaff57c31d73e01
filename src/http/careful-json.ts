import { ESCAPES, hexDigit, isDigit } from './json-chars';
import { JSON_RULES, JsonRefusal, type JsonPath, type JsonValue } from './json-value';

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
export class CarefulParser {
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
