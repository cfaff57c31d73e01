import 'reflect-metadata';
import { ConfigError } from './env';
import { createApp } from './app.factory';
import { HealthListener } from './health/health-listener';
import { httpConfig } from './http/http.config';
import { checkAddress, listen } from './http/listen';

async function bootstrap(): Promise<void> {
  const { port, healthPort, host } = httpConfig();
  await checkAddress(port, host);
  if (healthPort !== undefined) await checkAddress(healthPort, host, 'HEALTH_PORT');
  const app = await createApp();
  await app.init();
  // Before PORT: once PORT answers, so does HEALTH_PORT.
  await app.get(HealthListener).listen();
  await listen(app.getHttpServer(), port, host);
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
