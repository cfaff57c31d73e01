import 'reflect-metadata';
import { ConfigError } from './env';
import { createApp, serve } from './app.factory';
import { httpConfig } from './http/http.config';
import { checkAddress } from './http/listen';
import { keepHeapSmall } from './heap';

keepHeapSmall();

async function bootstrap(): Promise<void> {
  const { port, healthPort, host } = httpConfig();
  // A taken or foreign address stops start-up with its one line before anything else happens.
  await checkAddress(port, host);
  if (healthPort !== undefined) await checkAddress(healthPort, host, 'HEALTH_PORT');
  await serve(await createApp());
}

bootstrap().catch((error: unknown) => {
  // One line, no stack: a ConfigError's message names the variable or file and the rule.
  const reason =
    error instanceof ConfigError
      ? error.message
      : `start-up failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`stats-service: ${reason}\n`);
  process.exit(1);
});
