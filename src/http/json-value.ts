/** The values and refusals of the exact JSON parser (exact-json.ts, careful-json.ts). */

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
