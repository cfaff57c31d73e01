import * as rules from './line-protocol-rules';

/** The four field types line protocol writes (`1.5`, `1i`, `"text"`, `true`). */
export type LineFieldType = 'float' | 'integer' | 'string' | 'boolean';

/**
 * What a line is made of: the point's series and time, and its fields with the storage type
 * decided for each. Declared here, structurally, so that this adapter imports nothing of the
 * store that owns the points (store/point.ts): the store's Point and TypedField fit these.
 */
export interface LinePoint {
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  /** Nanoseconds since the Unix epoch. */
  readonly time: bigint;
}

export interface LineField {
  readonly key: string;
  readonly type: LineFieldType;
  readonly value: string | number | bigint | boolean;
}

/**
 * Points rendered as line protocol, one line each, in one text: line `i` runs from the end of
 * line `i - 1` (plus its `\n`) to `ends[i]`. A string field may hold a line break, so the lines
 * are found by their ends, never by splitting the text.
 */
export interface Lines {
  readonly text: string;
  readonly ends: readonly number[];
}

/**
 * Lines `start` to `end` (excluded) of a rendered text: what a write is made of. Several parts
 * make one write (a group commit), and a refused write is split into parts of fewer lines.
 */
export interface WritePart {
  readonly lines: Lines;
  readonly start: number;
  readonly end: number;
}

/**
 * The lines of `points[i]` with `fields[i]`, rendered when a submission is made: the lines of
 * the next write are ready while the write before it is in flight, a write only joins texts,
 * and only the text is held while the write is in flight, not the typed fields it was made from
 * (docs/PERFORMANCE.md, "Profiles"). The pieces of every line go into one array, sized before
 * it is filled, and are joined once: a line built by concatenation made a string for every
 * piece, then a copy of each line (docs/PERFORMANCE.md, "Lines joined once").
 */
export function renderLines(
  points: readonly LinePoint[],
  fields: ReadonlyArray<readonly LineField[]>,
): Lines {
  let count = 0;
  for (let i = 0; i < points.length; i++) count += piecesOf(points[i]!, fields[i]!) + 1;
  const pieces = new Array<string>(Math.max(count - 1, 0));
  const ends = new Array<number>(points.length);
  let at = 0;
  let end = -1;
  for (let i = 0; i < points.length; i++) {
    if (i > 0) pieces[at++] = '\n';
    const from = at;
    at = linePieces(points[i]!, fields[i]!, pieces, at);
    let length = 0;
    for (let j = from; j < at; j++) length += pieces[j]!.length;
    ends[i] = end += length + 1;
  }
  return { text: pieces.join(''), ends };
}

/** Lines, one text: joined with `\n`, each found by its end. */
export function joinLines(lines: readonly string[]): Lines {
  const ends = new Array<number>(lines.length);
  let end = -1;
  for (let i = 0; i < lines.length; i++) ends[i] = end += lines[i]!.length + 1;
  return { text: lines.join('\n'), ends };
}

/** The part's lines as one text, `\n` between them. */
export function partText({ lines, start, end }: WritePart): string {
  if (start === 0 && end === lines.ends.length) return lines.text;
  return lines.text.slice(start === 0 ? 0 : lines.ends[start - 1]! + 1, lines.ends[end - 1]);
}

/** The part's lines one by one (the v2 WriteApi takes them so). */
export function partLines(part: WritePart): string[] {
  const each: string[] = [];
  for (let i = part.start; i < part.end; i++) {
    each.push(partText({ lines: part.lines, start: i, end: i + 1 }));
  }
  return each;
}

/** A measurement name (see line-protocol-rules.ts for what can be one). */
export function escapeMeasurement(text: string): string {
  return rules.escapeMeasurement(text);
}

/** A tag key or tag value. */
export function escapeTag(text: string): string {
  return rules.escapeTag(text);
}

/** A field key: as a tag, and `"` escaped too. */
export function escapeFieldKey(text: string): string {
  return rules.escapeFieldKey(text);
}

/** A string field value, in double quotes. */
export function quoted(text: string): string {
  return rules.quoteString(text);
}

function fieldValue(field: LineField): string {
  switch (field.type) {
    case 'float':
      return rules.floatText(field.value as number | bigint);
    case 'integer':
      return rules.integerText(field.value as number | bigint);
    case 'string':
      return quoted(field.value as string);
    case 'boolean':
      return field.value ? 'true' : 'false';
  }
}

/**
 * Line protocol for one point, its fields as typed. Callers have already refused, with the rules
 * of line-protocol-rules.ts, what line protocol cannot carry (and points without fields).
 */
export function toLine(point: LinePoint, fields: readonly LineField[]): string {
  const pieces = new Array<string>(piecesOf(point, fields));
  linePieces(point, fields, pieces, 0);
  return pieces.join('');
}

/** How many pieces linePieces writes for the point. */
function piecesOf(point: LinePoint, fields: readonly LineField[]): number {
  return 3 + 2 * point.tags.length + 2 * fields.length;
}

/**
 * The pieces of the point's line, written into `pieces` from `at` on; returns where they end.
 * Keys come with their separators, kept (keyText).
 */
function linePieces(
  point: LinePoint,
  fields: readonly LineField[],
  pieces: string[],
  at: number,
): number {
  pieces[at++] = escapeMeasurement(point.measurement);
  // Sorted tags are what InfluxDB recommends: it then skips sorting them itself.
  const tags = sorted(point.tags) ? point.tags : [...point.tags].sort(byKey);
  for (let i = 0; i < tags.length; i++) {
    pieces[at++] = keyText(tags[i]![0], 'tag')[1];
    pieces[at++] = escapeTag(tags[i]![1]);
  }
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    pieces[at++] = keyText(field.key, 'field')[i === 0 ? 0 : 1];
    pieces[at++] = fieldValue(field);
  }
  pieces[at++] = ' ';
  pieces[at++] = point.time.toString();
  return at;
}

/** At most this many keys' texts are kept; the cache starts again when it is full. */
const MAX_KEY_TEXTS = 10_000;
const keyTexts = { tag: new Map<string, KeyText>(), field: new Map<string, KeyText>() };
/** A key escaped, with `=` and the separator before it: ` key=` (first field) and `,key=`. */
type KeyText = readonly [string, string];

/**
 * The text of a tag or field key, kept: the same few keys come in every event, and escaping
 * them and joining the separators anew cost a string or two per key per line (a batch's lines
 * were a sixth of all it allocated).
 */
function keyText(key: string, kind: 'tag' | 'field'): KeyText {
  const texts = keyTexts[kind];
  let text = texts.get(key);
  if (text === undefined) {
    if (texts.size >= MAX_KEY_TEXTS) texts.clear();
    const escaped = kind === 'tag' ? escapeTag(key) : escapeFieldKey(key);
    text = [` ${escaped}=`, `,${escaped}=`];
    texts.set(key, text);
  }
  return text;
}

function byKey([a]: readonly [string, string], [b]: readonly [string, string]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(tags: ReadonlyArray<readonly [string, string]>): boolean {
  for (let i = 1; i < tags.length; i++) if (tags[i - 1]![0] > tags[i]![0]) return false;
  return true;
}
