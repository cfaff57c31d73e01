import { BadRequestException } from '@nestjs/common';

/**
 * A 400 that says what was wrong: `key` is the path of the offending key inside the body
 * (`fields.count`, `a_b`), `index` the element of an array body, `rule` what it broke.
 * Values are never echoed: they may be anything, secrets included.
 */
export class Refusal extends BadRequestException {
  constructor(
    readonly key: string,
    readonly rule: string,
    readonly index?: number,
    extra: Record<string, unknown> = {},
  ) {
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
  }
}
