/**
 * The shipped client in a process of its own, for the fault tests:
 *
 *   node -r ts-node/register/transpile-only test/fault/client.ts '<ClientConfig as JSON>'
 *
 * Logs `events` events `{event: 'fault.<scenario>', uid: 'c-<n>', seq: n}` with the built client
 * (dist/client, with its defaults: deferred, batched, retried), prints `logged` and waits for
 * SIGUSR2; then calls shutdown() and prints one JSON line: the ids it logged and the ids
 * shutdown() reported as not delivered. Only node: built-ins and the build.
 */
import { join } from 'node:path';

export interface ClientConfig {
  url: string;
  token: string;
  scenario: string;
  events: number;
}

interface ClientModule {
  Analytics: new (options: { url: string; accessToken: string }) => {
    log(data: Record<string, unknown>): Promise<string>;
    shutdown(): Promise<Array<{ event_id?: unknown }>>;
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as ClientConfig;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the build, as callers load it
  const { Analytics } = require(join(__dirname, '..', '..', 'dist', 'client')) as ClientModule;
  const client = new Analytics({ url: config.url, accessToken: config.token });
  const ids: string[] = [];
  for (let seq = 0; seq < config.events; seq++) {
    ids.push(await client.log({ event: `fault.${config.scenario}`, uid: `c-${seq}`, seq }));
  }
  process.stdout.write('logged\n');
  await new Promise<void>((resolve) => {
    process.once('SIGUSR2', () => resolve());
    // Keeps the process alive until then.
    setInterval(() => undefined, 60_000);
  });
  const left = await client.shutdown();
  process.stdout.write(
    `${JSON.stringify({ ids, left: left.map((event) => String(event.event_id)) })}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`client failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
