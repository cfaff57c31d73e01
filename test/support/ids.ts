import { randomBytes } from 'node:crypto';

/** A server-made event id: `entry_` and 32 lower-case hex digits. */
export const SERVER_ID = /^entry_[0-9a-f]{32}$/;

/** `prefix` and 12 random hex digits: an event name or id no other test run uses. */
export function unique(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
