import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTER_FILE, DeadLetterFile } from './dead-letter';

describe(DeadLetterFile.name, () => {
  let dir: string;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dead-letter-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an integer beyond ±2^53 as its digits, a point of the 1.1 API once sent again', async () => {
    const file = new DeadLetterFile(dir, { error: () => undefined });
    const written = await file.add(
      {
        measurement: 'analytics',
        tags: [['event', 'e']],
        fields: [
          ['big', -9223372036854775808n],
          ['text', '\udbff9007199254740993 is text'],
          ['n', 1.5],
        ],
        time: 5n,
        eventId: 'id-1',
      },
      'field big: a reason',
    );

    expect(written).toBe(true);
    expect(readFileSync(join(dir, DEAD_LETTER_FILE), 'utf8')).toBe(
      '{"reason":"field big: a reason","measurement":"analytics","tags":{"event":"e"},' +
        '"fields":{"big":-9223372036854775808,"text":"\\udbff9007199254740993 is text","n":1.5},' +
        '"time":"5","event_id":"id-1"}\n',
    );
  });
});
