// The arrows the architecture allows (docs/DEVELOPMENT.md, "Architecture"), held by `npm run deps`:
// events/ -> store/ -> spool/ and influx/; nothing points back up, and nothing goes round.
// Only influx/ speaks to InfluxDB (its client library, its line protocol, its InfluxQL).
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
      comment:
        'spool/ keeps points; it knows neither events, nor the store that replays it, nor InfluxDB.',
      from: { path: '^src/spool/' },
      to: { path: '^src/(events|store|influx|metrics|http|auth|openapi|health)/' },
    },
    {
      name: 'events-know-only-the-store',
      severity: 'error',
      comment:
        "events/ turns bodies into points and the store outcomes into answers: InfluxDB and the spool are the store's.",
      from: { path: '^src/events/' },
      to: { path: '^src/(influx|spool)/' },
    },
    {
      name: 'only-influx-speaks-influxdb',
      severity: 'error',
      comment: 'Only influx/ imports the InfluxDB client library.',
      from: { pathNot: '^src/influx/' },
      to: { path: '@influxdata/influxdb-client' },
    },
    {
      name: 'only-influx-builds-its-languages',
      severity: 'error',
      comment:
        'Line protocol and InfluxQL are built in influx/ only: others may name their types, not call them.',
      from: { pathNot: '^src/influx/' },
      to: {
        path: '^src/influx/(line-protocol|influxql|query-results|classify)\\.ts$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'store-below-events',
      severity: 'error',
      comment: 'store/ answers in its own errors; events/ turns them into HTTP answers.',
      from: { path: '^src/store/' },
      to: { path: '^src/(events|http|auth|openapi|health)/' },
    },
    {
      name: 'stamps-below-events',
      severity: 'error',
      comment:
        "stamps/ gives events/ their ids and times: it refuses in the HTTP layer's words (http/refusal.ts), not events/'.",
      from: { path: '^src/stamps/' },
      to: { path: '^src/(events|auth|health|openapi|cli|client)/' },
    },
    {
      name: 'metrics-is-a-leaf',
      severity: 'error',
      comment:
        'metrics/ is what every layer records into: it imports nothing of the app but env.ts (its scrape route is health/).',
      from: { path: '^src/metrics/' },
      to: { path: '^src/(?!metrics/|env\\.ts$)' },
    },
    {
      name: 'influx-is-only-the-client',
      severity: 'error',
      comment:
        'influx/ wraps the InfluxDB client; it imports nothing of the app above it (its answers are values the store measures).',
      from: { path: '^src/influx/' },
      to: { path: '^src/(events|store|spool|metrics|auth|http|health|openapi|cli|client)/' },
    },
    {
      name: 'openapi-describes-only',
      severity: 'error',
      comment:
        'openapi/ holds what controllers describe themselves with (schema names, decorators, error bodies): it imports nothing of the app, so no folder goes round through it.',
      from: { path: '^src/openapi/' },
      to: { path: '^src/(?!openapi/)' },
    },
    {
      name: 'api-docs-on-top',
      severity: 'error',
      comment: 'api-docs/ assembles the document from every feature: only the app factory uses it.',
      from: { pathNot: '^src/(api-docs/|app\\.factory\\.ts$)' },
      to: { path: '^src/api-docs/' },
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
