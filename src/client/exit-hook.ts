/**
 * `flushOnExit`: one `beforeExit` and one `SIGTERM` listener for all clients that asked for it.
 * A single SIGTERM listener matters: with one per client, each would see the others and none
 * would raise the signal again.
 */
export type ExitTrigger = 'beforeExit' | 'SIGTERM';

const flushes = new Map<object, (trigger: ExitTrigger) => Promise<void>>();

function flushAll(trigger: ExitTrigger): Promise<void> {
  const all = [...flushes.values()].map((flush) => flush(trigger));
  return Promise.allSettled(all).then(() => undefined);
}

/** The event loop ran empty: what is queued would be lost, so flush it (the flush revives the loop). */
function onBeforeExit(): void {
  void flushAll('beforeExit');
}

/**
 * Flush, then do what SIGTERM would have done without us: when nobody else listens, raise it
 * again (the process ends by the signal, as it would have); otherwise the other listener decides.
 */
function onSigterm(): void {
  const othersListen = process.listenerCount('SIGTERM') > 1;
  // From here on a second SIGTERM takes its default course at once.
  detach();
  void flushAll('SIGTERM').finally(() => {
    if (!othersListen) process.kill(process.pid, 'SIGTERM');
  });
}

function detach(): void {
  process.off('beforeExit', onBeforeExit);
  process.off('SIGTERM', onSigterm);
}

/** `flush` must settle within its own deadline. */
export function registerExitFlush(
  owner: object,
  flush: (trigger: ExitTrigger) => Promise<void>,
): void {
  if (flushes.size === 0) {
    process.on('beforeExit', onBeforeExit);
    process.on('SIGTERM', onSigterm);
  }
  flushes.set(owner, flush);
}

export function unregisterExitFlush(owner: object): void {
  if (!flushes.delete(owner)) return;
  if (flushes.size === 0) detach();
}
