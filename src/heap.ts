import { setFlagsFromString } from 'node:v8';

/** V8's heap growing factor is 1 + this / 100: the old space may grow by half before a full GC. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Under load most of what a request allocates dies young, but what is in flight when the young
 * generation is collected (bodies waiting for their turn, points waiting for InfluxDB's answer)
 * is promoted and then dies in the old space. V8 lets the old space grow up to four times its
 * live size before collecting it, so a service with ~30 MB live stood at 200 MB RSS under the
 * benchmark's single-event load and 230 MB under 100-event batches. A factor of 1.5 keeps both
 * under 160 MB, with no throughput difference we could tell from the machine's noise
 * (docs/PERFORMANCE.md, "Memory"). A `--heap-growing-percent` on the node command line wins
 * (`node --heap-growing-percent=100 dist/main.js`; Node refuses it in NODE_OPTIONS).
 */
export function keepHeapSmall(): void {
  if (process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
