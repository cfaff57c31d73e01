import { FieldType } from './line-protocol';
import { originalLayout, UntypedPoint } from './original-layout';

function event(fields: UntypedPoint['fields'], measurement = 'analytics'): UntypedPoint {
  return { measurement, tags: [['event', 'pnc.purchase']], fields };
}

function layout(point: UntypedPoint, stored: Record<string, FieldType> = {}) {
  return originalLayout(point, new Map(Object.entries(stored)), 'analytics');
}

/** The field types of a measurement the original wrote: every key a field, integers as such. */
const ORIGINAL = { event: 'string', event_id: 'string', now: 'float', uid: 'string' } as const;

describe(originalLayout.name, () => {
  describe('`event` where the measurement already has it as a field', () => {
    it('adds `event` as a string field with the tag value', () => {
      expect(layout(event([['uid', 'u1']]), ORIGINAL)).toEqual([
        ['uid', 'u1'],
        ['event', 'pnc.purchase'],
      ]);
    });

    it('adds nothing to a measurement without an `event` field (an empty one, or ours)', () => {
      expect(layout(event([['uid', 'u1']]))).toEqual([['uid', 'u1']]);
      expect(layout(event([['uid', 'u1']]), { uid: 'string', event_id: 'string' })).toEqual([
        ['uid', 'u1'],
      ]);
    });

    it('adds nothing where `event` is a field of another type (it would only conflict)', () => {
      expect(layout(event([['uid', 'u1']]), { event: 'float' })).toEqual([['uid', 'u1']]);
    });

    it('keeps an `event` field the point already has', () => {
      const point = event([['event', 'given']]);
      expect(layout(point, ORIGINAL)).toEqual([['event', 'given']]);
    });

    it('adds nothing to a point without an `event` tag', () => {
      const point = { measurement: 'analytics', tags: [['host', 'a']] as const, fields: [] };
      expect(layout(point, ORIGINAL)).toEqual([]);
    });

    it('does the same for any other tag (EVENT_TAGS) that is a string field', () => {
      const point = {
        measurement: 'analytics',
        tags: [
          ['event', 'login'],
          ['tags_app-name', 'billing'],
          ['region', 'eu'],
        ] as const,
        fields: [['uid', 'u1']] as const,
      };
      expect(layout(point, { ...ORIGINAL, 'tags_app-name': 'string', region: 'float' })).toEqual([
        ['uid', 'u1'],
        ['event', 'login'],
        ['tags_app-name', 'billing'],
      ]);
    });

    it('leaves other measurements alone', () => {
      const point = event([['value', 1]], 'server_startup');
      expect(layout(point, ORIGINAL)).toEqual([['value', 1]]);
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
      const fields = [
        ['uid', 'u1'],
        ['count', 5],
      ] as const;
      expect(layout(event(fields))).toEqual(fields);
      expect(layout(event([['uid', true]]))).toEqual([['uid', true]]);
    });

    it('is a number like any other outside the events measurement', () => {
      expect(layout(event([['uid', 42]], 'cpu'))).toEqual([['uid', 42]]);
    });
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
