import { BadRequestException } from '@nestjs/common';
import { quote } from './quote';

/**
 * A 400 that says what was wrong: `key` is the path of the offending key inside the body
 * (`fields.count`, `a_b`), `index` the element of an array body, `rule` what it broke.
 * Values are never echoed: they may be anything, secrets included. The key is client input:
 * it is quoted (at most 64 characters, then `…`), so a huge key cannot make a huge answer.
 */
export class Refusal extends BadRequestException {
  readonly key: string;

  constructor(
    rawKey: string,
    readonly rule: string,
    readonly index?: number,
    extra: Record<string, unknown> = {},
  ) {
    const key = quote(rawKey);
    const where = index === undefined ? key : `[${index}]${key === '' ? '' : `.${key}`}`;
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: where === '' ? rule : `${where}: ${rule}`,
      ...(index === undefined ? {} : { index }),
      key,
      rule,
      ...extra,
    });
    this.key = key;
  }
}
