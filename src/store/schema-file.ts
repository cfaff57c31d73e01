import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { FIELD_TYPES, type FieldType } from './point';

/** Beside the spool segments in SPOOL_DIR. */
export const SCHEMA_FILE = 'schema.json';

/** What is kept per measurement: its field types in InfluxDB, and in the spool only. */
export interface KeptTypes {
  stored: ReadonlyMap<string, FieldType>;
  spooled: ReadonlyMap<string, FieldType>;
}

/** The file: per measurement, its field types in InfluxDB and in the spool. */
interface SchemaFileContent {
  version: 1;
  measurements: Record<
    string,
    { stored: Record<string, FieldType>; spooled: Record<string, FieldType> }
  >;
}

/**
 * SPOOL_DIR/schema.json: written whole to a temporary file, fsync'ed, renamed (and the folder
 * synced), so that it is always one whole state; read back at start-up. Saves run one at a
 * time, and calls made while one waits share it.
 */
export class SchemaFile {
  readonly path: string;
  /** A save that has not started yet (it will write the state as it is when it starts). */
  private nextSave?: Promise<void>;
  private lastSave: Promise<void> = Promise.resolve();

  constructor(
    dir: string,
    private readonly logger: Pick<Logger, 'error'>,
  ) {
    this.path = join(dir, SCHEMA_FILE);
  }

  /** What the file holds; nothing when there is none, or it is damaged or unreadable (logged). */
  async load(): Promise<Map<string, KeptTypes>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // No file yet: nothing learned. Anything else (a folder by that name, no permission) is
      // reported: the next save would fail the same way.
      if (code !== 'ENOENT') this.logger.error(`${this.path} cannot be read (${code}); ignored`);
      return new Map();
    }
    const kept = parseSchemaFile(text);
    // Written atomically, so this is damage from outside: start from what InfluxDB says.
    if (!kept) this.logger.error(`${this.path} is not a schema file; it is ignored and rewritten`);
    return kept ?? new Map();
  }

  /** Writes what `state()` answers when the save starts; resolves once it is durable. */
  save(state: () => Iterable<[string, KeptTypes]>): Promise<void> {
    if (this.nextSave === undefined) {
      const save = this.lastSave
        .catch(() => undefined)
        .then(() => {
          this.nextSave = undefined;
          return this.write(state());
        });
      save.catch((error: unknown) =>
        this.logger.error(`could not save ${SCHEMA_FILE}: ${(error as Error).message}`),
      );
      this.nextSave = save;
      this.lastSave = save;
    }
    return this.nextSave;
  }

  private async write(state: Iterable<[string, KeptTypes]>): Promise<void> {
    // fromEntries, not assignment: a measurement may be called `__proto__`.
    const file: SchemaFileContent = {
      version: 1,
      measurements: Object.fromEntries(
        Array.from(state, ([name, types]) => [
          name,
          { stored: Object.fromEntries(types.stored), spooled: Object.fromEntries(types.spooled) },
        ]),
      ),
    };
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(file));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
    const dir = await open(join(this.path, '..'), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

const KNOWN_TYPES: ReadonlySet<unknown> = new Set(FIELD_TYPES);

/** The file's types; undefined unless it is version 1 of this format throughout. */
function parseSchemaFile(text: string): Map<string, KeptTypes> | undefined {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(file) || file.version !== 1 || !isRecord(file.measurements)) return undefined;
  const kept = new Map<string, KeptTypes>();
  for (const [name, types] of Object.entries(file.measurements)) {
    if (!isRecord(types)) return undefined;
    const stored = fieldTypes(types.stored);
    const spooled = fieldTypes(types.spooled);
    if (!stored || !spooled) return undefined;
    kept.set(name, { stored, spooled });
  }
  return kept;
}

function fieldTypes(value: unknown): Map<string, FieldType> | undefined {
  if (!isRecord(value)) return undefined;
  const types = new Map<string, FieldType>();
  for (const [key, type] of Object.entries(value)) {
    if (!KNOWN_TYPES.has(type)) return undefined;
    types.set(key, type as FieldType);
  }
  return types;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
