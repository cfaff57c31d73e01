import 'reflect-metadata';
import { ConfigError } from './env';
import { createApp } from './app.factory';
import { httpConfig, HttpConfig } from './http/http.config';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const { port, host } = app.get<HttpConfig>(httpConfig.KEY);
  await app.listen(port, host);
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
