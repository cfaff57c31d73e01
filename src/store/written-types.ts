import type { FieldType, Point, TypedField } from './point';

/** A field's key and the storage type it was written with. */
export interface KeyType {
  readonly key: string;
  readonly type: FieldType;
}

interface Shape {
  readonly measurement: string;
  readonly fields: readonly KeyType[];
}

/** Beyond this many shapes a write's points are not compared with them any more. */
const MAX_SHAPES = 16;

/**
 * The storage types of a write's points, held while the write is in flight instead of the
 * typed fields it was rendered from (an object a field; a batch's typed fields were the largest
 * part of what an in-flight request held, docs/PERFORMANCE.md, "Holding less in flight"). The
 * points that share a measurement and the same keys typed the same way (most of a batch) share
 * one shape; after the write, the types of the points InfluxDB took are remembered once a shape.
 */
export class WrittenTypes {
  private readonly shapes: Shape[] = [];
  private readonly shapeOf: number[];

  constructor(points: readonly Point[], fields: ReadonlyArray<readonly TypedField[]>) {
    this.shapeOf = new Array<number>(points.length);
    let last = -1;
    for (let i = 0; i < points.length; i++) {
      const measurement = points[i]!.measurement;
      const typed = fields[i]!;
      if (last < 0 || !fits(this.shapes[last]!, measurement, typed))
        last = this.find(measurement, typed);
      this.shapeOf[i] = last;
    }
  }

  /** Calls `remember` once for each shape of the points `i` for which `stored(i)` holds. */
  forEachStored(
    stored: (i: number) => boolean,
    remember: (measurement: string, fields: readonly KeyType[]) => void,
  ): void {
    const told = new Array<boolean>(this.shapes.length).fill(false);
    for (let i = 0; i < this.shapeOf.length; i++) {
      const shape = this.shapeOf[i]!;
      if (told[shape] || !stored(i)) continue;
      told[shape] = true;
      remember(this.shapes[shape]!.measurement, this.shapes[shape]!.fields);
    }
  }

  private find(measurement: string, typed: readonly TypedField[]): number {
    if (this.shapes.length <= MAX_SHAPES) {
      for (let s = 0; s < this.shapes.length; s++) {
        if (fits(this.shapes[s]!, measurement, typed)) return s;
      }
    }
    const fields: KeyType[] = [];
    for (let f = 0; f < typed.length; f++)
      fields.push({ key: typed[f]!.key, type: typed[f]!.type });
    return this.shapes.push({ measurement, fields }) - 1;
  }
}

function fits(shape: Shape, measurement: string, typed: readonly TypedField[]): boolean {
  if (shape.measurement !== measurement || shape.fields.length !== typed.length) return false;
  for (let f = 0; f < typed.length; f++) {
    if (shape.fields[f]!.key !== typed[f]!.key || shape.fields[f]!.type !== typed[f]!.type) {
      return false;
    }
  }
  return true;
}
