import { deletePoints, eventQuery, quoteName, quoteString, showFieldKeys } from './influxql';

/** 0x17979cfe362a0000 ns = 2023-11-14T22:13:20Z */
const SERVER_ID = 'entry_17979cfe362a00000123456789abcdef';
const SERVER_NS = 1_700_000_000_000_000_000n;

describe(eventQuery.name, () => {
  it('touches only the moment of a server id', () => {
    expect(eventQuery('analytics', SERVER_ID, { at: SERVER_NS })).toBe(
      'SELECT *::field FROM "analytics" WHERE ' +
        `"event_id" =~ /(?i)^${SERVER_ID}$/ AND time = 1700000000000000000 ` +
        'GROUP BY * ORDER BY time DESC LIMIT 1',
    );
  });

  it('bounds a search from and before the given times', () => {
    expect(eventQuery('my.events', 'Batch.7:row-42', { from: 5n, before: 9n })).toBe(
      'SELECT *::field FROM "my.events" WHERE ' +
        `"event_id" = 'Batch.7:row-42' AND time >= 5 AND time < 9 ` +
        'GROUP BY * ORDER BY time DESC LIMIT 1',
    );
  });

  it('has no time condition without bounds, and a dot of an entry_ id matches only a dot', () => {
    expect(eventQuery('analytics', 'ENTRY_abc.def', {})).toBe(
      'SELECT *::field FROM "analytics" WHERE "event_id" =~ /(?i)^ENTRY_abc\\.def$/ ' +
        'GROUP BY * ORDER BY time DESC LIMIT 1',
    );
  });
});

describe('InfluxQL quoting', () => {
  it('quotes names and strings so that nothing in them ends the quote', () => {
    expect(quoteName('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteString("it's \\ fine")).toBe("'it\\'s \\\\ fine'");
    expect(showFieldKeys('my"m')).toBe('SHOW FIELD KEYS FROM "my\\"m"');
  });

  it('keeps an id inside its literal whatever it holds, in either kind of match', () => {
    expect(eventQuery('m', "x' OR 1=1 --", {})).toContain(`"event_id" = 'x\\' OR 1=1 --'`);
    expect(eventQuery('m', 'entry_a/ OR /.*', {})).toContain(
      '"event_id" =~ /(?i)^entry_a\\/ OR \\/\\.\\*$/',
    );
  });

  it('deletes each point by its measurement, tags and time', () => {
    expect(
      deletePoints([
        { measurement: 'm', tags: [['host', "o'b"]], time: 5n },
        { measurement: 'n', tags: [], time: 6n },
      ]),
    ).toBe(`DELETE FROM "m" WHERE "host" = 'o\\'b' AND time = 5; DELETE FROM "n" WHERE time = 6`);
  });
});
