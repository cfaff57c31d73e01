import { BadRequestException } from '@nestjs/common';
import { Refusal } from './refusal';

describe(Refusal.name, () => {
  it('is a 400 whose body names the key and the rule', () => {
    const refusal = new Refusal('a_b', 'must be a finite number');
    expect(refusal).toBeInstanceOf(BadRequestException);
    expect(refusal.getStatus()).toBe(400);
    expect(refusal.getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'a_b: must be a finite number',
      key: 'a_b',
      rule: 'must be a finite number',
    });
  });

  it('quotes a 1 MB key as its first 64 characters and an ellipsis, once in the key and the message', () => {
    const key = `${'k'.repeat(64)}${'x'.repeat(1024 * 1024)}`;
    const refusal = new Refusal(key, 'keys may be at most 128 characters (MAX_KEY_LENGTH)');
    expect(refusal.getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `${'k'.repeat(64)}…: keys may be at most 128 characters (MAX_KEY_LENGTH)`,
      key: `${'k'.repeat(64)}…`,
      rule: 'keys may be at most 128 characters (MAX_KEY_LENGTH)',
    });
    expect(JSON.stringify(refusal.getResponse()).length).toBeLessThan(400);
  });

  it('exposes key, rule and index as properties', () => {
    const refusal = new Refusal('fields.x', 'is also a tag of this point', 3);
    expect(refusal.key).toBe('fields.x');
    expect(refusal.rule).toBe('is also a tag of this point');
    expect(refusal.index).toBe(3);
  });

  it('gives the rule alone as the message when no key is at fault', () => {
    expect(new Refusal('', 'the array holds no points').getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the array holds no points',
      key: '',
      rule: 'the array holds no points',
    });
  });

  it('places the key inside the element of an array body', () => {
    expect(new Refusal('fields.count', 'must be a number', 2).getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: '[2].fields.count: must be a number',
      index: 2,
      key: 'fields.count',
      rule: 'must be a number',
    });
  });

  it('names the element alone when the whole element is at fault, index 0 included', () => {
    expect(new Refusal('', 'must be an object', 0).getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: '[0]: must be an object',
      index: 0,
      key: '',
      rule: 'must be an object',
    });
  });

  it('adds extra keys to the body', () => {
    expect(
      new Refusal('n', 'field type conflict', undefined, {
        stored: 'integer',
        incoming: 'float',
      }).getResponse(),
    ).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'n: field type conflict',
      key: 'n',
      rule: 'field type conflict',
      stored: 'integer',
      incoming: 'float',
    });
  });
});
