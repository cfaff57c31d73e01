/**
 * Parsing of environment variables, shared by the `*.config.ts` files (the only readers of
 * `process.env`). Every failure is a ConfigError whose message names the variable and the rule,
 * never the value: a value may be a secret.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value with surrounding blanks trimmed, or undefined when unset or blank. */
export function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}`);
  }
  return value;
}

export function oneOf<T extends string>(
  env: Env,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const found = choices.find((choice) => choice === raw.toLowerCase());
  if (found === undefined) throw new ConfigError(`${name} must be one of: ${choices.join(', ')}`);
  return found;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  return oneOf(env, name, ['true', 'false'], fallback ? 'true' : 'false') === 'true';
}

export function matching(
  env: Env,
  name: string,
  pattern: RegExp,
  rule: string,
): string | undefined {
  const raw = text(env, name);
  if (raw !== undefined && !pattern.test(raw)) throw new ConfigError(`${name} ${rule}`);
  return raw;
}
