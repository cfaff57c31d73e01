import { ConfigError } from '../env';
import { parseEventsConfig } from './events.config';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(parseEventsConfig.name, () => {
  it('defaults to the analytics measurement, no extra tags and the documented limits', () => {
    expect(parseEventsConfig({})).toEqual({
      tableName: 'analytics',
      tagKeys: new Set(),
      readWindowHours: 168,
      readMaxScans: 1,
      limits: { maxKeys: 256, maxKeyLength: 128, maxStringBytes: 65_536, maxBatchEvents: 1000 },
    });
  });

  describe('EVENT_READ_MAX_SCANS', () => {
    it.each<[string, number]>([
      ['1', 1],
      [' 8 ', 8],
      ['1000', 1000],
      ['', 1],
    ])('takes %j as %d window searches at once', (raw, scans) => {
      expect(parseEventsConfig({ EVENT_READ_MAX_SCANS: raw }).readMaxScans).toBe(scans);
    });

    it.each(['0', '-1', '2.5', 'many', '1001'])(
      'refuses %j, naming the variable and the rule',
      (raw) => {
        const error = configErrorOf(() => parseEventsConfig({ EVENT_READ_MAX_SCANS: raw }));
        expect(error.message).toMatch(
          /^EVENT_READ_MAX_SCANS must (be a whole number|be between 1 and 1000)$/,
        );
      },
    );
  });

  describe('EVENT_READ_WINDOW_HOURS', () => {
    it.each<[string, number]>([
      ['0', 0],
      ['1', 1],
      [' 720 ', 720],
      ['876000', 876_000],
      ['', 168],
    ])('takes %j as %d hours', (raw, hours) => {
      expect(parseEventsConfig({ EVENT_READ_WINDOW_HOURS: raw }).readWindowHours).toBe(hours);
    });

    it.each(['-1', '1.5', '7d', '876001'])(
      'refuses %j, naming the variable and the rule',
      (raw) => {
        const error = configErrorOf(() => parseEventsConfig({ EVENT_READ_WINDOW_HOURS: raw }));
        expect(error.message).toMatch(
          /^EVENT_READ_WINDOW_HOURS must (be a whole number|be between 0 and 876000)$/,
        );
      },
    );
  });

  describe('TABLE_NAME', () => {
    it.each(['events', 'app.events-v2_1', ' padded ', 'x'.repeat(128)])('accepts %j', (raw) => {
      expect(parseEventsConfig({ TABLE_NAME: raw }).tableName).toBe(raw.trim());
    });

    it('treats a blank value as unset', () => {
      expect(parseEventsConfig({ TABLE_NAME: '  ' }).tableName).toBe('analytics');
    });

    it.each(['my table', 'a,b', 'a"b', 'x'.repeat(129), 'täble'])(
      'refuses %j, naming the variable and the rule but not the value',
      (raw) => {
        const error = configErrorOf(() => parseEventsConfig({ TABLE_NAME: raw }));
        expect(error.message).toBe('TABLE_NAME must match ^[A-Za-z0-9_.-]{1,128}$');
        expect(error.message).not.toContain(raw);
      },
    );
  });

  describe('EVENT_TAGS', () => {
    it('reads a comma-separated list, ignoring blanks and empty items', () => {
      expect(parseEventsConfig({ EVENT_TAGS: ' host , region,,app_version, ' }).tagKeys).toEqual(
        new Set(['host', 'region', 'app_version']),
      );
    });

    it('leaves out event, which is always a tag', () => {
      expect(parseEventsConfig({ EVENT_TAGS: 'event,host' }).tagKeys).toEqual(new Set(['host']));
    });

    it("takes any event key, such as the original 1.0 client's tags_app-name", () => {
      expect(parseEventsConfig({ EVENT_TAGS: 'tags_app-name,tag.x,a b' }).tagKeys).toEqual(
        new Set(['tags_app-name', 'tag.x', 'a b']),
      );
    });

    it.each(['host,ends\\', 'a\tb'])('refuses %j: not a key line protocol carries', (raw) => {
      const error = configErrorOf(() => parseEventsConfig({ EVENT_TAGS: raw }));
      expect(error.message).toBe(
        'EVENT_TAGS must be a comma-separated list of event keys (no control characters, none ending in a backslash)',
      );
    });

    it.each(['uid', 'host,event_id', 'time'])(
      'refuses %j: per-event keys would explode series cardinality',
      (raw) => {
        expect(configErrorOf(() => parseEventsConfig({ EVENT_TAGS: raw })).message).toBe(
          'EVENT_TAGS must not name uid, event_id or time',
        );
      },
    );
  });

  describe('limits', () => {
    it('reads each limit', () => {
      expect(
        parseEventsConfig({
          MAX_EVENT_KEYS: '50',
          MAX_KEY_LENGTH: '64',
          MAX_STRING_BYTES: '1024',
          MAX_BATCH_EVENTS: '10',
        }).limits,
      ).toEqual({ maxKeys: 50, maxKeyLength: 64, maxStringBytes: 1024, maxBatchEvents: 10 });
    });

    it.each([
      ['MAX_EVENT_KEYS', '1', 'MAX_EVENT_KEYS must be between 2 and 10000'],
      ['MAX_EVENT_KEYS', '10001', 'MAX_EVENT_KEYS must be between 2 and 10000'],
      ['MAX_EVENT_KEYS', 'many', 'MAX_EVENT_KEYS must be a whole number'],
      ['MAX_KEY_LENGTH', '7', 'MAX_KEY_LENGTH must be between 8 and 1024'],
      ['MAX_KEY_LENGTH', '1025', 'MAX_KEY_LENGTH must be between 8 and 1024'],
      ['MAX_STRING_BYTES', '15', 'MAX_STRING_BYTES must be between 16 and 16777216'],
      ['MAX_STRING_BYTES', '16777217', 'MAX_STRING_BYTES must be between 16 and 16777216'],
      ['MAX_STRING_BYTES', '64k', 'MAX_STRING_BYTES must be a whole number'],
      ['MAX_BATCH_EVENTS', '0', 'MAX_BATCH_EVENTS must be between 1 and 100000'],
      ['MAX_BATCH_EVENTS', '100001', 'MAX_BATCH_EVENTS must be between 1 and 100000'],
    ])('refuses %s=%j with a message that is the rule alone', (name, raw, message) => {
      expect(configErrorOf(() => parseEventsConfig({ [name]: raw })).message).toBe(message);
    });
  });
});
