// The arrows the architecture allows (docs/DEVELOPMENT.md, "Architecture"), held by `npm run deps`:
// events/ -> store/ -> spool/ and influx/; nothing points back up, and nothing goes round.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports: one of them must move to the lower module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'spool-is-only-the-log',
      severity: 'error',
      comment: 'spool/ keeps points; it knows neither events nor the store that replays it.',
      from: { path: '^src/spool/' },
      to: { path: '^src/(events|store)/' },
    },
    {
      name: 'store-below-events',
      severity: 'error',
      comment: 'store/ answers in its own errors; events/ turns them into HTTP answers.',
      from: { path: '^src/store/' },
      to: { path: '^src/(events|http|auth|openapi|health)/' },
    },
    {
      name: 'influx-is-only-the-client',
      severity: 'error',
      comment: 'influx/ wraps the InfluxDB client; it imports nothing of the app above it.',
      from: { path: '^src/influx/' },
      to: { path: '^src/(events|store|spool|auth|http|health|openapi|cli|client)/' },
    },
    {
      name: 'guard-knows-tokens-not-bodies',
      severity: 'error',
      comment:
        'auth/ knows tokens, not requests: it imports nothing of the HTTP layer (the body reader, its exceptions and filters).',
      from: { path: '^src/auth/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'client-ships-alone',
      severity: 'error',
      comment: 'client/ ships to callers: it imports nothing of the server.',
      from: { path: '^src/client/' },
      to: { path: '^src/(?!client/)' },
    },
    {
      name: 'cli-ships-alone',
      severity: 'error',
      comment:
        'cli/ ships to operators: it imports nothing of the server but the token codec, the access file, the token verification (token-set.ts) and ConfigError (env.ts), which the server shares with it.',
      from: { path: '^src/cli/' },
      to: {
        path: '^src/(?!cli/|auth/token-codec\\.ts$|auth/access-file\\.ts$|auth/token-set\\.ts$|env\\.ts$)',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a circle through a type is still a circle to a reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.spec\\.ts$' },
  },
};
