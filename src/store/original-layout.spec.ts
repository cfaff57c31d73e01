import type { FieldType, FieldValue, Point } from './point';
import { originalLayout } from './original-layout';

function event(
  fields: Array<[string, FieldValue]>,
  tags: Array<[string, string]> = [['event', 'pnc.purchase']],
): Point {
  return { measurement: 'analytics', tags, fields, time: 1n, eventId: 'entry_1' };
}

function layout(point: Point, stored: Record<string, FieldType> = {}) {
  return originalLayout(point, new Map(Object.entries(stored)));
}

/** The field types of a measurement the original wrote: every key a field, integers as such. */
const ORIGINAL = { event: 'string', event_id: 'string', now: 'float', uid: 'string' } as const;

describe(originalLayout.name, () => {
  describe('a tag the measurement already holds as a field', () => {
    it('adds `event` as a string field with the tag value', () => {
      expect(layout(event([['uid', 'u1']]), ORIGINAL)).toEqual([
        ['uid', 'u1'],
        ['event', 'pnc.purchase'],
      ]);
    });

    it('adds nothing to a measurement without such a field (an empty one, or ours)', () => {
      expect(layout(event([['uid', 'u1']]))).toEqual([['uid', 'u1']]);
      expect(layout(event([['uid', 'u1']]), { uid: 'string', event_id: 'string' })).toEqual([
        ['uid', 'u1'],
      ]);
    });

    it('adds nothing where the tag text cannot be the stored type (it would only conflict)', () => {
      expect(layout(event([['uid', 'u1']]), { event: 'float' })).toEqual([['uid', 'u1']]);
      const tags: Array<[string, string]> = [
        ['event', 'e'],
        ['count', 'many'],
        ['ok', 'yes'],
      ];
      expect(layout(event([], tags), { count: 'integer', ok: 'boolean' })).toEqual([]);
    });

    it('keeps a field of that name the event already has', () => {
      expect(layout(event([['event', 'given']]), ORIGINAL)).toEqual([['event', 'given']]);
    });

    it('does the same for EVENT_TAGS keys, in the type the field has', () => {
      const tags: Array<[string, string]> = [
        ['event', 'login'],
        ['tags_app-name', 'billing'],
        ['count', '5'],
        ['price', '12.5'],
        ['ok', 'True'],
        ['region', 'eu'],
      ];
      const stored = {
        ...ORIGINAL,
        'tags_app-name': 'string',
        count: 'integer',
        price: 'float',
        ok: 'boolean',
      } as const;
      expect(layout(event([['uid', 'u1']], tags), stored)).toEqual([
        ['uid', 'u1'],
        ['event', 'login'],
        ['tags_app-name', 'billing'],
        ['count', 5],
        ['price', 12.5],
        ['ok', true],
      ]);
    });

    it('leaves an integer field alone when the tag text is not integral', () => {
      const tags: Array<[string, string]> = [['count', '2.5']];
      expect(layout(event([], tags), { count: 'integer' })).toEqual([]);
    });
  });

  describe('a numeric `uid`', () => {
    it('is stored as its decimal text where `uid` is new or a string field', () => {
      expect(layout(event([['uid', 42]]))).toEqual([['uid', '42']]);
      expect(layout(event([['uid', 42]]), { uid: 'string' })).toEqual([['uid', '42']]);
      expect(layout(event([['uid', -7.5]]), { uid: 'string' })).toEqual([['uid', '-7.5']]);
    });

    it('keeps every digit of a large integer', () => {
      expect(layout(event([['uid', 2 ** 70]]))).toEqual([['uid', '1180591620717411303424']]);
    });

    it('stays a number where `uid` is already an integer or float field', () => {
      expect(layout(event([['uid', 42]]), { uid: 'integer' })).toEqual([['uid', 42]]);
      expect(layout(event([['uid', 4.5]]), { uid: 'float' })).toEqual([['uid', 4.5]]);
    });

    it('leaves string and boolean uids, and other numeric keys, as they are', () => {
      const fields: Array<[string, FieldValue]> = [
        ['uid', 'u1'],
        ['count', 5],
      ];
      expect(layout(event(fields))).toEqual(fields);
      expect(layout(event([['uid', true]]))).toEqual([['uid', true]]);
    });
  });

  it('leaves points of the 1.1 API (no event id) as they were sent', () => {
    const point: Point = {
      measurement: 'analytics',
      tags: [['event', 'restart']],
      fields: [['uid', 42]],
      time: 1n,
    };
    expect(layout(point, ORIGINAL)).toEqual([['uid', 42]]);
  });

  it('applies both rules at once, and does not change the point it was given', () => {
    const point = event([
      ['uid', 42],
      ['count', 5],
    ]);
    expect(layout(point, ORIGINAL)).toEqual([
      ['uid', '42'],
      ['count', 5],
      ['event', 'pnc.purchase'],
    ]);
    expect(point.fields).toEqual([
      ['uid', 42],
      ['count', 5],
    ]);
  });
});
