import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package.json version (src/ and dist/ both sit one level below it). */
export const VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
