import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import type { FieldType } from './point';

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

  /** What the file holds; nothing when there is none, or it is damaged (logged). */
  async load(): Promise<Map<string, KeptTypes>> {
    const kept = new Map<string, KeptTypes>();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return kept; // no file yet: nothing learned
    }
    try {
      const file = JSON.parse(text) as SchemaFileContent;
      for (const [name, types] of Object.entries(file.measurements)) {
        kept.set(name, {
          stored: new Map(Object.entries(types.stored)),
          spooled: new Map(Object.entries(types.spooled)),
        });
      }
    } catch {
      // Written atomically, so this is damage from outside: start from what InfluxDB says.
      this.logger.error(`${this.path} is not a schema file; it is ignored and rewritten`);
      kept.clear();
    }
    return kept;
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
    const file: SchemaFileContent = { version: 1, measurements: {} };
    for (const [name, types] of state) {
      file.measurements[name] = {
        stored: Object.fromEntries(types.stored),
        spooled: Object.fromEntries(types.spooled),
      };
    }
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
