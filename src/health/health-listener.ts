import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { httpConfig, HttpConfig } from '../http/http.config';
import { LISTEN_BACKLOG, listenError } from '../http/listen';
import type { HealthWorkerData } from './health-worker';
import { LIVENESS } from './liveness';

/** How often the main event loop proves it turns. */
const HEARTBEAT_EVERY_MS = 500;
/**
 * /ping on HEALTH_PORT answers 503 once the main loop has not turned for this long. A spike's
 * longest turns last a second or two on a starved CPU; a loop stuck for 10 s is stuck, and the
 * liveness probe's three failures in a row then restart the pod.
 */
export const LIVENESS_STALL_MS = 10_000;

/**
 * The liveness probe's own listener on HEALTH_PORT (when set), in a thread of its own
 * (health-worker.ts). Node accepts one new connection per turn of its event loop: under a spike,
 * thousands of connections wait in PORT's listen queue and a probe's connection on PORT waits
 * behind all of them, and a turn that reads a spike's first burst lasts as long as a thousand
 * requests. The thread answers at once, whatever the main loop is doing; it still answers for
 * the main loop: the loop stores the time in a shared heartbeat every 500 ms, and /ping there
 * answers 503 once the heartbeat is older than LIVENESS_STALL_MS. `GET` and `HEAD /ping` answer
 * as on PORT; anything else is 404. Stopped at shutdown, after PORT.
 */
@Injectable()
export class HealthListener implements OnApplicationShutdown {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(httpConfig.KEY) private readonly config: HttpConfig) {}

  /** Listens on HOST:HEALTH_PORT; nothing when HEALTH_PORT is unset. */
  async listen(): Promise<void> {
    const { healthPort, host } = this.config;
    if (healthPort === undefined) return;
    const heartbeat = new SharedArrayBuffer(8);
    const beats = new BigInt64Array(heartbeat);
    const beat = () => Atomics.store(beats, 0, BigInt(Date.now()));
    beat();
    this.timer = setInterval(beat, HEARTBEAT_EVERY_MS).unref();
    const workerData: HealthWorkerData = {
      port: healthPort,
      host,
      body: JSON.stringify(LIVENESS),
      heartbeat,
      stallMs: LIVENESS_STALL_MS,
      backlog: LISTEN_BACKLOG,
    };
    const worker = new Worker(join(__dirname, 'health-worker.js'), { workerData });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      // A thread that ends before it listened (it posts nothing then) must not hang start-up.
      worker.once('exit', (code) => reject(new Error(`the HEALTH_PORT thread exited (${code})`)));
      worker.once('message', (message: { listening?: true; code?: string }) => {
        if (message.listening) resolve();
        // listenError returns a ConfigError, or the Error it was given.
        else
          reject(
            errorOf(listenError(Object.assign(new Error(message.code), message), 'HEALTH_PORT')),
          );
      });
    });
    // The thread must not keep the process alive on its own.
    worker.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.worker?.terminate();
  }
}

function errorOf(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
