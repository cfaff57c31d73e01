import { joinLines, partLines, type Lines, type WritePart } from '../../src/influx/line-protocol';
import type { TypedField } from '../../src/store/point';

/** What a fake InfluxService is given of a point: its time and its typed fields. */
export interface SeenLine {
  time: bigint;
  fields: TypedField[];
}

const BIGINT = '$bigint';

/**
 * A fake InfluxService's `render`: each line the JSON of the point's time and typed fields,
 * so that its `write` reads back exactly what the store handed over (fakeRead). For specs of
 * the store's logic; the real line protocol is line-protocol.spec.ts's and InfluxDB's.
 */
export function fakeRender(
  points: ReadonlyArray<{ readonly time: bigint }>,
  fields: ReadonlyArray<readonly TypedField[]>,
): Lines {
  return joinLines(
    points.map((point, i) =>
      JSON.stringify({ time: point.time, fields: fields[i] }, (_, value: unknown) =>
        typeof value === 'bigint' ? { [BIGINT]: value.toString() } : value,
      ),
    ),
  );
}

/** The lines of a fake write, as fakeRender made them. */
export function fakeRead(parts: readonly WritePart[]): SeenLine[] {
  return parts
    .flatMap(partLines)
    .map(
      (line) =>
        JSON.parse(line, (_, value: unknown) =>
          typeof value === 'object' && value !== null && BIGINT in value
            ? BigInt((value as Record<string, string>)[BIGINT]!)
            : value,
        ) as SeenLine,
    );
}
