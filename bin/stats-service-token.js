#!/usr/bin/env node
// `stats-service-token` (package.json "bin"; docs/TOKENS.md). This file is committed with its
// run bit, which every `nest build` would take from dist/cli/token.js (written anew each time):
// so `npx stats-service-token` works after any rebuild. The command itself is in src/cli/.
try {
  require.resolve('../dist/cli/token.js');
} catch {
  process.stderr.write('stats-service-token: dist/cli/token.js is missing; run `npm run build`\n');
  process.exit(1);
}
require('../dist/cli/token.js');
