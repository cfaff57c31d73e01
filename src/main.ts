import 'reflect-metadata';
import { ConfigError } from './env';
import { createApp, serve } from './app.factory';
import { keepHeapSmall } from './heap';

keepHeapSmall();

async function bootstrap(): Promise<void> {
  // serve binds PORT and HEALTH_PORT before anything is logged or replayed: a taken or foreign
  // address stops start-up with its one line.
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
