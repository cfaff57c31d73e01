import { networkInterfaces } from 'node:os';
import { StatsError } from './stats-error';
import type { StatsEvent } from './stats-event';

/** The one warning line for events that will not be delivered. */
export function describe(error: StatsError, count: number): string {
  const events = `${count} event(s)`;
  switch (error.kind) {
    case 'refused':
      if (error.status === 401 || error.status === 403) {
        return `stats-service refused the access token (${error.status}: ${error.message}); ${events} not delivered: check accessToken`;
      }
      return `stats-service refused ${events} (${error.status}: ${error.message})`;
    case 'rejected':
      return `stats-service rejected ${events} of a batch: ${error.message}`;
    case 'invalid':
      return `${events} could not be sent: ${error.message}`;
    case 'unreachable':
      return error.message;
  }
}

/** The event as JSON; a StatsError of kind `invalid` when it has none (a cycle, a BigInt). */
/** An event as JSON; a StatsError of kind `invalid` when it cannot be. */
export function serialise(event: StatsEvent): string {
  try {
    return JSON.stringify(event);
  } catch (error) {
    throw new StatsError(
      `the event cannot be sent as JSON: ${error instanceof Error ? error.message : String(error)}`,
      { kind: 'invalid', status: 0, cause: error },
    );
  }
}

/** A callback of the caller's that throws (or rejects) must not stop logging or delivery. */
/** Runs a caller's callback; what it throws or rejects with is the caller's. */
export function callSafely(callback: () => unknown): void {
  try {
    const result = callback();
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // the caller's own failure, not ours to report
  }
}

/** The first non-internal IPv4 address of this machine, as os.networkInterfaces() lists them. */
/** This machine's first external IPv4 address, if any. */
export function firstExternalIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}
