import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAuthConfig } from '../../src/auth/auth.config';
import { parseEventsConfig } from '../../src/events/events.config';
import { parseHttpConfig } from '../../src/http/http.config';
import { parseInfluxConfig } from '../../src/influx/influx.config';
import { parseMetricsConfig } from '../../src/metrics/metrics.config';
import { parseSpoolConfig } from '../../src/spool/spool.config';
import { parseStampsConfig } from '../../src/stamps/stamps.config';
import { REPO } from './service';

/** The runtime stage's ENV of the Dockerfile, as KEY=VALUE pairs. */
export function dockerfileEnv(): Record<string, string> {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [key, value] = pair.split('=');
      env[key!] = value!;
    }
  }
  return env;
}

/**
 * Every variable the service reads, as config/stats-service.env.example lists them (one
 * `#NAME=default` line each): a deployment that sets another one has a typo.
 */
export function serviceVariables(): Set<string> {
  return new Set(Object.keys(exampleValues()));
}

/** The `#NAME=value` lines of config/stats-service.env.example: each variable and its value. */
export function exampleValues(): Record<string, string> {
  const example = readFileSync(join(REPO, 'config', 'stats-service.env.example'), 'utf8');
  return Object.fromEntries(
    [...example.matchAll(/^#?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [
      match[1]!,
      match[2]!.trim(),
    ]),
  );
}

/** The service's config parsers, one per feature: the only readers of its environment. */
const CONFIG_PARSERS = [
  parseHttpConfig,
  parseInfluxConfig,
  parseEventsConfig,
  parseSpoolConfig,
  parseMetricsConfig,
  parseAuthConfig,
  parseStampsConfig,
];

/**
 * Every variable the config parsers look up, recorded while they parse an empty environment
 * (each parser reads all of its variables whatever their values).
 */
export function variablesRead(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string>>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  for (const parse of CONFIG_PARSERS) parse(env);
  return read;
}

/**
 * What the service makes of `env`: every config parser's result, as JSON (a Set as its members),
 * so that two environments can be compared by what they configure.
 */
export function parsedConfig(env: Record<string, string>): string {
  return JSON.stringify(
    CONFIG_PARSERS.map((parse) => parse(env)),
    (_key, value: unknown) => (value instanceof Set ? [...(value as Set<unknown>)] : value),
  );
}

/**
 * The message of every config parser that refuses `env`, as the service would at start-up
 * (one per feature): `[]` when the service would start with these variables.
 */
export function startupErrors(env: Record<string, string>): string[] {
  return CONFIG_PARSERS.flatMap((parse) => {
    try {
      parse(env);
      return [];
    } catch (error) {
      return [`${parse.name}: ${(error as Error).message}`];
    }
  });
}
