/**
 * The Grafana provisioning of config/grafana against real data. Events are stored THROUGH the
 * service (POST /log/event), then every InfluxQL query of every dashboard (panel targets,
 * template variables, annotations) runs on the real InfluxDB with Grafana's template variables
 * substituted the way Grafana's InfluxDB data source does it, and the numbers the panels would
 * show (after the panel's transformations, simulated here) are compared with what was sent.
 *
 * No Grafana and no Prometheus server run here: the Prometheus expressions of the dashboards
 * cannot be evaluated, so they are checked against the service's own GET /metrics instead
 * (every metric they name must be exported).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropDatabase, httpRequest, influxQueryRaw } from './support/influxd';
import { post, REPO, startService, type RunningService } from './support/service';

const GRAFANA = join(REPO, 'config', 'grafana');
const DASHBOARDS = join(GRAFANA, 'dashboards');
const INFLUX_UID = 'stats-influxdb';
const PROMETHEUS_UID = 'stats-prometheus';

interface DataSourceRef {
  type?: string;
  uid?: string;
}

interface Target {
  refId: string;
  datasource?: DataSourceRef;
  rawQuery?: boolean;
  query?: string;
  resultFormat?: string;
  expr?: string;
}

interface Transformation {
  id: string;
  options: Record<string, unknown>;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: DataSourceRef;
  targets?: Target[];
  transformations?: Transformation[];
  panels?: Panel[];
}

interface Variable {
  type: string;
  name: string;
  datasource?: DataSourceRef;
  query?: string | { query: string };
  current?: { value?: string | string[] };
  multi?: boolean;
  includeAll?: boolean;
}

interface Annotation {
  name: string;
  builtIn?: number;
  datasource?: DataSourceRef;
  query?: string;
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  time: { from: string; to: string };
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Annotation[] };
}

/** One query of a dashboard, wherever it sits. */
interface DashboardQuery {
  file: string;
  /** For messages: `events.json panel "Most active uids" A`. */
  where: string;
  datasource: DataSourceRef;
  text: string;
}

type Row = Record<string, unknown>;
/** Template variable name → the values Grafana would substitute. */
type Values = Map<string, string[]>;

const dashboards: Array<{ file: string; dashboard: Dashboard }> = readdirSync(DASHBOARDS)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    dashboard: JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard,
  }));

function dashboard(file: string): Dashboard {
  const found = dashboards.find((entry) => entry.file === file);
  if (!found) throw new Error(`no ${file} in ${DASHBOARDS}`);
  return found.dashboard;
}

/** Every panel, those inside rows included. */
function panelsOf(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

function panel(board: Dashboard, title: string): Panel {
  const found = panelsOf(board.panels).find((candidate) => candidate.title === title);
  if (!found) throw new Error(`no panel "${title}" in ${board.uid}`);
  return found;
}

function target(board: Dashboard, title: string, refId = 'A'): Target {
  const found = panel(board, title).targets?.find((candidate) => candidate.refId === refId);
  if (!found) throw new Error(`no target ${refId} in panel "${title}"`);
  return found;
}

function variableQuery(variable: Variable): string {
  return typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
}

/** Panel targets, template variables of type query, and annotations with a query. */
function queriesOf(file: string, board: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const variable of board.templating.list) {
    if (variable.type !== 'query') continue;
    queries.push({
      file,
      where: `${file} variable $${variable.name}`,
      datasource: variable.datasource ?? {},
      text: variableQuery(variable),
    });
  }
  for (const annotation of board.annotations.list) {
    if (annotation.builtIn === 1) continue;
    queries.push({
      file,
      where: `${file} annotation "${annotation.name}"`,
      datasource: annotation.datasource ?? {},
      text: annotation.query ?? '',
    });
  }
  for (const { title, datasource, targets } of panelsOf(board.panels)) {
    for (const t of targets ?? []) {
      queries.push({
        file,
        where: `${file} panel "${title}" ${t.refId}`,
        datasource: t.datasource ?? datasource ?? {},
        text: t.query ?? t.expr ?? '',
      });
    }
  }
  return queries;
}

const allQueries = dashboards.flatMap(({ file, dashboard: board }) => queriesOf(file, board));
const influxQueries = allQueries.filter((q) => q.datasource.uid === INFLUX_UID);
const prometheusQueries = allQueries.filter((q) => q.datasource.uid === PROMETHEUS_UID);

// ---------------------------------------------------------------- Grafana's substitution

/** Grafana's built-in variables, for a "last hour" range on a panel with 1-minute buckets. */
const BUILT_INS: Record<string, string> = {
  timeFilter: 'time > now() - 1h',
  __interval: '1m',
  interval: '1m',
  __interval_ms: '60000',
};

/** Grafana's escaping of a value put into a regex literal. */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

function valuesOf(values: Values, name: string): string[] {
  const found = values.get(name);
  if (found === undefined) throw new Error(`unknown template variable $${name}`);
  return found;
}

/**
 * Substitutes variables as Grafana's InfluxDB data source does: inside a regex literal
 * (`=~ /^$event$/`) the values are regex-escaped and several become `(a|b)`; elsewhere the
 * value goes in as it is, which only makes sense for a variable with one value.
 */
function interpolate(query: string, values: Values): string {
  const inRegex = query.replace(/\/\^\$\{?(\w+)\}?\$\//g, (_whole, name: string) => {
    const escaped = valuesOf(values, name).map(escapeRegex);
    return `/^${escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`}$/`;
  });
  const done = inRegex.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const builtIn = BUILT_INS[name];
      if (builtIn !== undefined) return builtIn;
      const given = valuesOf(values, name);
      if (given.length !== 1) {
        throw new Error(`$${name} has ${given.length} values outside a regex in: ${query}`);
      }
      return given[0]!;
    },
  );
  if (/\$[\w{]/.test(done)) throw new Error(`a variable is left in: ${done}`);
  return done;
}

// ---------------------------------------------------------------- Grafana's transformations

type Reducer = (values: unknown[]) => unknown;

const REDUCERS: Record<string, Reducer> = {
  count: (values) => values.length,
  sum: (values) => values.reduce((sum: number, value) => sum + Number(value), 0),
  max: (values) => Math.max(...values.map(Number)),
  min: (values) => Math.min(...values.map(Number)),
  first: (values) => values[0],
  last: (values) => values[values.length - 1],
};

interface GroupByOptions {
  fields: Record<string, { operation: string | null; aggregations: string[] }>;
}

function groupBy(rows: Row[], { fields }: GroupByOptions): Row[] {
  const keys = Object.keys(fields).filter((name) => fields[name]!.operation === 'groupby');
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = JSON.stringify(keys.map((name) => row[name]));
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((members) => {
    const out: Row = {};
    for (const name of keys) out[name] = members[0]![name];
    for (const [name, { operation, aggregations }] of Object.entries(fields)) {
      if (operation !== 'aggregate') continue;
      for (const aggregation of aggregations) {
        const reduce = REDUCERS[aggregation];
        if (!reduce) throw new Error(`reducer ${aggregation} is not simulated here`);
        out[`${name} (${aggregation})`] = reduce(members.map((member) => member[name]));
      }
    }
    return out;
  });
}

/**
 * What a table panel shows: the InfluxDB rows (its `time` column is Grafana's `Time` field)
 * through the panel's transformations. An unknown transformation fails the test rather than
 * being skipped.
 */
function transform(rows: Row[], transformations: Transformation[] = []): Row[] {
  let out: Row[] = rows.map(({ time, ...rest }) => ({ Time: time, ...rest }));
  for (const { id, options } of transformations) {
    if (id === 'groupBy') {
      out = groupBy(out, options as unknown as GroupByOptions);
    } else if (id === 'sortBy') {
      const [by] = options.sort as Array<{ field: string; desc?: boolean }>;
      if (!by) throw new Error('sortBy without a field');
      const sign = by.desc ? -1 : 1;
      out = [...out].sort((a, b) => sign * (Number(a[by.field]) - Number(b[by.field])));
    } else if (id === 'limit') {
      out = out.slice(0, Number(options.limitField));
    } else if (id === 'organize') {
      const rename = (options.renameByName ?? {}) as Record<string, string>;
      const exclude = (options.excludeByName ?? {}) as Record<string, boolean>;
      out = out.map((row) =>
        Object.fromEntries(
          Object.entries(row)
            .filter(([name]) => !exclude[name])
            .map(([name, value]) => [rename[name] || name, value]),
        ),
      );
    } else {
      throw new Error(`transformation ${id} is not simulated here`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- PromQL and /metrics

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names an expression selects (functions, labels, ranges and numbers stripped). */
function metricNames(expr: string): string[] {
  const labelValues = /^label_values\(\s*([A-Za-z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g, '');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(match.index + match[0].length);
    if (/^\s*\(/.test(after) || PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Series names a Prometheus scrape of this exposition would store. */
function exportedSeries(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name, kind] = type;
      if (kind === 'histogram') ['_bucket', '_sum', '_count'].forEach((s) => names.add(name! + s));
      else if (kind === 'summary') ['', '_sum', '_count'].forEach((s) => names.add(name! + s));
      else names.add(name!);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

// ---------------------------------------------------------------- the data

const LOGIN = 'user.login';
const LOGIN_FAILED = 'user.login_failed';

/** Sent in this order, one request each, through the service. */
const SEEDED: Array<Record<string, unknown>> = [
  { event: 'server.start', uid: 'system-web1', hostname: 'web1' },
  { event: 'server.start', uid: 'system-web2', hostname: 'web2' },
  { event: LOGIN, uid: 'alice' },
  { event: 'page.view', uid: 'alice', page: '/home' },
  { event: 'page.view', uid: 'alice', page: '/shop' },
  { event: 'purchase', uid: 'alice', amount: 19.99, item: 'book' },
  { event: LOGIN, uid: 'alice' },
  { event: LOGIN_FAILED, uid: 'bob' },
  { event: LOGIN, uid: 'bob' },
  { event: 'page.view', uid: 'bob', page: '/home' },
  { event: 'purchase', uid: 'bob', amount: 5.01, item: 'pen' },
  { event: LOGIN_FAILED, uid: 'carol' },
  { event: LOGIN_FAILED, uid: 'carol' },
  { event: LOGIN_FAILED, uid: 'carol' },
  { event: LOGIN, uid: 'carol' },
  { event: 'purchase', uid: 'carol', amount: 100, item: 'lamp' },
  { event: 'page.view', uid: 'dave', page: '/about' },
  { event: 'page.view', uid: '', page: '/home' },
  { event: LOGIN, uid: 'alice' },
  { event: 'server.start', uid: 'system-web1', hostname: 'web1' },
];

/** Events per name, as the seed holds them. */
function seededCount(predicate: (event: Record<string, unknown>) => boolean): number {
  return SEEDED.filter(predicate).length;
}

const sum = (numbers: number[]) => numbers.reduce((total, n) => total + n, 0);

describe('Grafana provisioning (config/grafana)', () => {
  let svc: RunningService;

  /** InfluxDB's answer to one statement on the service's database: rows, or the error. */
  async function runInflux(q: string): Promise<{ rows: Row[]; error?: string }> {
    const json = await influxQueryRaw(svc.influxUrl, svc.database, q, 'ms');
    const error = json.error ?? json.results?.find((result) => result.error)?.error;
    if (error !== undefined) return { rows: [], error };
    const rows: Row[] = [];
    for (const series of json.results?.[0]?.series ?? []) {
      for (const values of series.values ?? []) {
        const row: Row = { ...series.tags };
        series.columns.forEach((column, i) => (row[column] = values[i]));
        rows.push(row);
      }
    }
    return { rows };
  }

  async function rowsOf(q: string): Promise<Row[]> {
    const { rows, error } = await runInflux(q);
    if (error !== undefined) throw new Error(`InfluxDB: ${error} (query: ${q})`);
    return rows;
  }

  /**
   * The values of a dashboard's variables with their defaults (All for a query variable with
   * includeAll), its query variables run on InfluxDB in order; `chosen` overrides some.
   */
  async function variables(board: Dashboard, chosen: Record<string, string[]> = {}) {
    const values: Values = new Map();
    for (const variable of board.templating.list) {
      const { name, type, current } = variable;
      if (chosen[name]) {
        values.set(name, chosen[name]);
      } else if (type === 'constant' || type === 'textbox') {
        values.set(name, [variableQuery(variable)]);
      } else if (type === 'custom') {
        const value = current?.value ?? '';
        values.set(name, Array.isArray(value) ? value : [value]);
      } else if (type === 'query' && variable.datasource?.uid === INFLUX_UID) {
        const rows = await rowsOf(interpolate(variableQuery(variable), values));
        const all = rows.map((row) => String(row.value));
        const value = current?.value ?? [];
        const selected = Array.isArray(value) ? value : [value];
        values.set(name, selected.includes('$__all') || selected.length === 0 ? all : selected);
      } else {
        throw new Error(`variable $${name} (${type}) is not simulated here`);
      }
    }
    return values;
  }

  /** The rows a panel's target gets, with the dashboard's defaults unless `chosen` says. */
  async function panelRows(
    file: string,
    title: string,
    refId = 'A',
    chosen: Record<string, string[]> = {},
  ): Promise<Row[]> {
    const board = dashboard(file);
    const q = interpolate(target(board, title, refId).query!, await variables(board, chosen));
    return rowsOf(q);
  }

  /** A table panel's rows after its transformations. */
  async function tableRows(file: string, title: string, chosen: Record<string, string[]> = {}) {
    const rows = await panelRows(file, title, 'A', chosen);
    return transform(rows, panel(dashboard(file), title).transformations);
  }

  /** The one number a stat target shows. */
  async function statValue(title: string, refId = 'A', chosen: Record<string, string[]> = {}) {
    const rows = await panelRows('events.json', title, refId, chosen);
    expect(rows.length).toBeLessThanOrEqual(1);
    const row = rows[0] ?? {};
    const column = Object.keys(row).find((name) => name !== 'time');
    return column === undefined ? 0 : Number(row[column]);
  }

  /** Sum over the time buckets of a time series target, per value of `tag` (or one total). */
  async function bucketTotals(
    title: string,
    refId = 'A',
    tag?: string,
    chosen: Record<string, string[]> = {},
  ): Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    for (const row of await panelRows('events.json', title, refId, chosen)) {
      const key = tag === undefined ? 'total' : String(row[tag]);
      const value = Object.entries(row).find(([name]) => name !== 'time' && name !== tag)?.[1];
      totals[key] = (totals[key] ?? 0) + Number(value ?? 0);
    }
    return totals;
  }

  beforeAll(async () => {
    svc = await startService();
    for (const event of SEEDED) {
      const reply = await post(`${svc.url}/log/event`, event);
      expect(reply.status).toBe(200);
    }
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('provisions the two data sources by the uids the dashboards use, and the dashboards folder', () => {
    const datasources = readFileSync(
      join(GRAFANA, 'provisioning', 'datasources', 'datasources.yaml'),
      'utf8',
    );
    const entries = datasources.split(/^ {2}- /m).slice(1);
    const entry = (uid: string) => entries.find((text) => text.includes(`uid: ${uid}\n`)) ?? '';
    expect(entry(INFLUX_UID)).toMatch(/^ {4}type: influxdb$/m);
    expect(entry(INFLUX_UID)).toMatch(/^ {4}url: \$INFLUX_URL$/m);
    expect(entry(INFLUX_UID)).toMatch(/^ {6}dbName: \$INFLUX_DATABASE$/m);
    expect(entry(PROMETHEUS_UID)).toMatch(/^ {4}type: prometheus$/m);
    const providers = readFileSync(
      join(GRAFANA, 'provisioning', 'dashboards', 'dashboards.yaml'),
      'utf8',
    );
    expect(providers).toMatch(/^ {4}type: file$/m);
    expect(providers).toMatch(/^ {6}path: \/var\/lib\/grafana\/dashboards$/m);
  });

  it('has well-formed dashboards: relative times, unique ids, a known data source per query', () => {
    expect(dashboards.map(({ file }) => file)).toEqual(
      expect.arrayContaining(['events.json', 'service.json']) as unknown,
    );
    const uids = dashboards.map(({ dashboard: board }) => board.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const problems: string[] = [];
    for (const { file, dashboard: board } of dashboards) {
      if (board.schemaVersion !== 39)
        problems.push(`${file}: schemaVersion ${board.schemaVersion}`);
      if (!/^now-\d+[smhdw]$/.test(board.time.from) || board.time.to !== 'now') {
        problems.push(`${file}: time ${JSON.stringify(board.time)} is not relative to now`);
      }
      const panels = panelsOf(board.panels);
      if (new Set(panels.map((p) => p.id)).size !== panels.length) problems.push(`${file}: ids`);
      for (const p of panels) {
        const at = `${file} panel "${p.title}"`;
        if (!p.gridPos || p.gridPos.x + p.gridPos.w > 24) problems.push(`${at}: gridPos`);
        if (p.type === 'row') continue;
        if (!p.datasource?.type || !p.datasource.uid) problems.push(`${at}: datasource`);
        if (!p.targets?.length) problems.push(`${at}: no targets`);
        for (const t of p.targets ?? []) {
          const ds = t.datasource ?? p.datasource ?? {};
          if (ds.uid === INFLUX_UID && ds.type === 'influxdb') {
            if (t.rawQuery !== true) problems.push(`${at} ${t.refId}: rawQuery is not true`);
            if (!/^(SELECT|SHOW) /.test(t.query ?? '')) problems.push(`${at} ${t.refId}: query`);
            if (!['time_series', 'table'].includes(t.resultFormat ?? '')) {
              problems.push(`${at} ${t.refId}: resultFormat ${t.resultFormat}`);
            }
          } else if (ds.uid === PROMETHEUS_UID && ds.type === 'prometheus') {
            if (!t.expr) problems.push(`${at} ${t.refId}: no expr`);
          } else {
            problems.push(`${at} ${t.refId}: unknown data source ${JSON.stringify(ds)}`);
          }
        }
      }
    }
    for (const q of allQueries) {
      if (q.datasource.uid !== INFLUX_UID && q.datasource.uid !== PROMETHEUS_UID) {
        problems.push(`${q.where}: unknown data source ${JSON.stringify(q.datasource)}`);
      }
      if (q.text.trim() === '') problems.push(`${q.where}: empty query`);
    }
    expect(problems).toEqual([]);
  });

  it('runs every InfluxQL query of every dashboard on InfluxDB without an error', async () => {
    expect(influxQueries.length).toBeGreaterThan(15);
    const failures: string[] = [];
    for (const q of influxQueries) {
      const values = await variables(dashboard(q.file));
      const { error } = await runInflux(interpolate(q.text, values));
      if (error !== undefined) failures.push(`${q.where}: ${error}`);
    }
    expect(failures).toEqual([]);
  });

  it('lists the stored event names in $event', async () => {
    const values = await variables(dashboard('events.json'));

    expect(values.get('event')).toEqual(
      [...new Set(SEEDED.map((event) => String(event.event)))].sort(),
    );
    expect(values.get('measurement')).toEqual(['analytics']);
    expect(values.get('login_event')).toEqual([LOGIN]);
    expect(values.get('login_failed_event')).toEqual([LOGIN_FAILED]);
  });

  it('counts the events by name, per bucket and in total', async () => {
    const byName: Record<string, number> = {};
    for (const { event } of SEEDED) byName[String(event)] = (byName[String(event)] ?? 0) + 1;

    expect(await statValue('Events')).toBe(SEEDED.length);
    expect(await bucketTotals('Events by name', 'A', 'event')).toEqual(byName);
    expect(await bucketTotals('Events by name, total', 'A', 'event')).toEqual(byName);
  });

  it('narrows the overview to the events chosen in $event (a multi-value regex)', async () => {
    const chosen = { event: [LOGIN, 'page.view'] };
    const wanted = seededCount((e) => e.event === LOGIN || e.event === 'page.view');

    expect(await statValue('Events', 'A', chosen)).toBe(wanted);
    expect(await bucketTotals('Events by name', 'A', 'event', chosen)).toEqual({
      [LOGIN]: seededCount((e) => e.event === LOGIN),
      'page.view': seededCount((e) => e.event === 'page.view'),
    });
    expect((await tableRows('events.json', 'Most active uids', chosen))[0]).toMatchObject({
      uid: 'alice',
      events: 5,
    });
  });

  it('counts distinct users, leaving out systems and empty uids', async () => {
    expect(await statValue('Distinct users')).toBe(4);

    const perHour = await panelRows('events.json', 'Distinct users per hour');
    const counts = perHour.map((row) => Number(row.count));
    // One bucket unless the seeding crossed the hour; a user may then be in both.
    expect(Math.max(...counts)).toBeLessThanOrEqual(4);
    expect(sum(counts)).toBeGreaterThanOrEqual(4);
  });

  it('shows the 10 most active uids (grouped by the panel, since uid is a field)', async () => {
    const rows = await tableRows('events.json', 'Most active uids');

    expect(rows.map(({ uid, events }) => ({ uid, events }))).toEqual([
      { uid: 'alice', events: 6 },
      { uid: 'carol', events: 5 },
      { uid: 'bob', events: 4 },
      { uid: 'dave', events: 1 },
    ]);
    expect(rows[0]!['last seen']).toEqual(expect.any(Number));
  });

  it('needs that grouping: InfluxDB 1.x silently ignores GROUP BY a field, top() too', async () => {
    // What the panel description says: the obvious query gives one group with an empty uid.
    const rows = await rowsOf(
      'SELECT count("event_id") FROM "analytics" WHERE time > now() - 1h GROUP BY "uid"',
    );

    expect(rows).toEqual([expect.objectContaining({ uid: '', count: SEEDED.length })]);
    const top = await rowsOf(
      'SELECT top("n", "uid", 10) FROM (SELECT count("event_id") AS "n" FROM "analytics" ' +
        'WHERE time > now() - 1h GROUP BY "uid")',
    );
    expect(top).toEqual([expect.objectContaining({ uid: '', top: SEEDED.length })]);
  });

  it('puts login failures next to logins, and names who failed', async () => {
    const logins = seededCount((e) => e.event === LOGIN);
    const failures = seededCount((e) => e.event === LOGIN_FAILED);

    expect(await statValue('Logins / failures', 'A')).toBe(logins);
    expect(await statValue('Logins / failures', 'B')).toBe(failures);
    expect(await bucketTotals('Logins and login failures', 'A')).toEqual({ total: logins });
    expect(await bucketTotals('Logins and login failures', 'B')).toEqual({ total: failures });
    const byUid = await tableRows('events.json', 'Failed logins by uid');
    expect(byUid.map(({ uid, failures: n }) => ({ uid, n }))).toEqual([
      { uid: 'carol', n: 3 },
      { uid: 'bob', n: 1 },
    ]);
    // Renamed login events (the dashboard variables) are followed.
    expect(await statValue('Logins / failures', 'A', { login_event: ['page.view'] })).toBe(
      seededCount((e) => e.event === 'page.view'),
    );
  });

  it('shows service restarts from server.start events, by host and as annotations', async () => {
    const restarts = seededCount((e) => e.event === 'server.start');

    expect(await bucketTotals('Service restarts', 'A')).toEqual({ total: restarts });
    const byHost = await tableRows('events.json', 'Restarts by host');
    expect(byHost.map(({ hostname, restarts: n }) => ({ hostname, n }))).toEqual([
      { hostname: 'web1', n: 2 },
      { hostname: 'web2', n: 1 },
    ]);
    const board = dashboard('events.json');
    const annotation = board.annotations.list.find((a) => a.name === 'Restarts')!;
    const marks = await rowsOf(interpolate(annotation.query!, await variables(board)));
    expect(marks.map((row) => row.hostname)).toEqual(['web1', 'web2', 'web1']);
  });

  it('sums purchase amounts per hour and lists the recent purchases', async () => {
    const purchases = SEEDED.filter((e) => e.event === 'purchase');
    const total = sum(purchases.map((e) => Number(e.amount)));

    expect(await statValue('Purchases', 'A')).toBeCloseTo(total, 6);
    expect(await statValue('Purchases', 'B')).toBe(purchases.length);
    const perHour = await bucketTotals('Purchase amount per hour', 'A');
    expect(perHour.total).toBeCloseTo(total, 6);
    const recent = await tableRows('events.json', 'Recent purchases');
    expect(recent.map(({ uid, amount }) => ({ uid, amount }))).toEqual(
      [...purchases].reverse().map(({ uid, amount }) => ({ uid, amount })),
    );
  });

  it('names in service.json only metrics the service exports on /metrics', async () => {
    // No Prometheus runs here: the expressions cannot be evaluated, so each metric they select
    // is looked up in the exposition Prometheus would scrape (after the requests above).
    const reply = await httpRequest('GET', `${svc.url}/metrics`);
    expect(reply.status).toBe(200);
    const exported = exportedSeries(reply.body);
    expect(prometheusQueries.length).toBeGreaterThan(15);

    const named = new Set<string>();
    const unknown: string[] = [];
    for (const q of prometheusQueries) {
      const names = metricNames(q.text);
      if (names.length === 0) unknown.push(`${q.where}: selects no metric: ${q.text}`);
      for (const name of names) {
        named.add(name);
        if (!exported.has(name)) unknown.push(`${q.where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    expect([...named].filter((name) => name.startsWith('stats_')).sort()).toEqual([
      'stats_events_total',
      'stats_http_request_duration_seconds_bucket',
      'stats_http_requests_total',
      'stats_influx_write_duration_seconds_bucket',
      'stats_influx_write_duration_seconds_count',
      'stats_influx_write_failures_total',
      'stats_influx_write_lines_bucket',
      'stats_influx_write_lines_count',
      'stats_influx_write_lines_sum',
      'stats_spool_bytes',
      'stats_spool_dead_lettered_lines_total',
      'stats_spool_drained_lines_total',
      'stats_spool_oldest_record_age_seconds',
      'stats_spool_records',
      'stats_user_requests_total',
    ]);
  });

  it('opens the service dashboard on the spool size and the refusal rate, in one panel', () => {
    const board = dashboard('service.json');
    const overview = panel(board, 'Spool size and refusal rate');
    expect(overview.gridPos).toMatchObject({ x: 0, y: 1 });
    const exprs = (overview.targets ?? []).map((t) => t.expr ?? '');
    expect(exprs).toEqual([
      expect.stringMatching(/^sum\(stats_spool_bytes\{instance=~"\$instance"\}\)$/),
      expect.stringMatching(
        /^sum\(rate\(stats_http_requests_total\{.*status=~"4\.\.\|5\.\."\}\[5m\]\)\)$/,
      ),
    ]);
    const byUser = target(board, 'Refusals by user').expr ?? '';
    expect(metricNames(byUser)).toEqual(['stats_user_requests_total']);
    expect(byUser).toContain('sum by (user, status)');
  });

  it('documents, in docs/OPERATIONS.md, every event name and key the events dashboard expects', () => {
    const board = dashboard('events.json');
    const section = readFileSync(join(REPO, 'docs', 'OPERATIONS.md'), 'utf8').split(
      /^## Grafana$/m,
    )[1]!;
    const names = new Set<string>();
    const keys = new Set<string>();
    for (const q of queriesOf('events.json', board)) {
      for (const match of q.text.matchAll(/"event" = '([^'$]+)'/g)) names.add(match[1]!);
      // The keys read, not the names given to results (`AS "events"`).
      const selected = (/^SELECT (.+?) FROM/.exec(q.text)?.[1] ?? '').replace(/ AS "\w+"/g, '');
      for (const match of selected.matchAll(/"(\w+)"/g)) keys.add(match[1]!);
    }
    for (const variable of board.templating.list) {
      if (variable.type === 'textbox') names.add(variableQuery(variable));
    }
    // Not vacuous: the login, purchase and restart panels name their events.
    expect([...names].sort()).toEqual(
      expect.arrayContaining(['purchase', 'server.start', 'user.login', 'user.login_failed']),
    );
    const missing = [...names, ...keys].filter((name) => !section.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('extracts metric names from PromQL as intended', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{instance=~"$i", a="b{c}"}[$__range])))',
      ),
    ).toEqual(['x_bucket']);
    expect(metricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) > bool 0')).toEqual([
      'a_sum',
      'a_count',
    ]);
    expect(metricNames('label_values(stats_http_requests_total, instance)')).toEqual([
      'stats_http_requests_total',
    ]);
  });
});
