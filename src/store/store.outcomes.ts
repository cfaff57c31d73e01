import type { FieldTypeConflict } from './point';

/**
 * What became of points handed to the store: values, never exceptions, so that events/ maps
 * each to its answer and its metric reason by its `kind` alone.
 */
export type StoreOutcome = Stored | Spooled | NotKept;

/** InfluxDB acknowledged them (200). */
export interface Stored {
  readonly kind: 'stored';
}

/** They wait in the durable spool and will be stored (202). */
export interface Spooled {
  readonly kind: 'spooled';
}

/** Nothing of them was kept. */
export type NotKept =
  /** A field has another type than the measurement holds; `index`: the point's place in its array. */
  | {
      readonly kind: 'type_conflict';
      readonly conflict: FieldTypeConflict;
      readonly index?: number;
    }
  /** InfluxDB refused them, for no reason the service's own types show (400, 413, 422). */
  | { readonly kind: 'refused'; readonly status: number }
  /** InfluxDB could not take them and the spool is at SPOOL_MAX_BYTES: try again later. */
  | { readonly kind: 'spool_full'; readonly retryAfterSeconds: number }
  /** InfluxDB could not take them and the spool cannot be written: try again later. */
  | { readonly kind: 'spool_unavailable'; readonly retryAfterSeconds: number };

export const STORED: Stored = { kind: 'stored' };
export const SPOOLED: Spooled = { kind: 'spooled' };

/** Where a read-back event was found: in InfluxDB, or still waiting in the spool. */
export type EventStatus = 'stored' | 'queued';

/** What a read of one event by its id ended in. */
export type ReadOutcome =
  | {
      readonly kind: 'found';
      readonly status: EventStatus;
      /** One flat object: `time` (RFC 3339), the tags, the fields as stored. No prototype. */
      readonly event: Record<string, unknown>;
    }
  | { readonly kind: 'not_found' }
  /** InfluxDB could not be asked, and the spool does not hold it: try again later (503). */
  | { readonly kind: 'unavailable'; readonly retryAfterSeconds: number }
  /** A search of the read window was needed and EVENT_READ_MAX_SCANS run already (429). */
  | { readonly kind: 'busy'; readonly retryAfterSeconds: number };
