/**
 * The README's quick start, pasted as written: `.ci/serve-local` (what `npm run local` runs once
 * it has installed and built) serves the built service, and the README's curl commands run in
 * bash against it. What they print must be what the README's comments say they print, but for
 * the id and the time, which differ per run; the read-back must use the id the POST answered;
 * and the service must listen on loopback only, since it accepts the public demo token.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dropDatabase, freePort, uniqueDatabase } from './support/influxd';
import { codeBlocks, readDocument } from './support/markdown';
import { REPO } from './support/service';
import { eventually } from './support/spool';
import { SERVER_ID } from './support/ids';

const run = promisify(execFile);

/** The README's port; the test serves on a free one, since 20080 may be taken on this machine. */
const README_PORT = 20080;

const block = codeBlocks(readDocument('README.md')).find(
  (candidate) => candidate.lang === 'sh' && candidate.code.includes('TOKEN='),
);

/** The output lines the README shows, as `# <output>` comments after the commands. */
function shownOutput(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => line.startsWith('# '))
    .map((line) => line.slice(2));
}

/** Whether anything listens on 0.0.0.0 or a non-loopback address at `port` (Linux /proc/net). */
function listeningBeyondLoopback(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A: LISTEN
      const [address, portHex] = local.split(':') as [string, string];
      if (portHex !== hexPort) continue;
      const loopback = address === '0100007F' || address === '00000000000000000000000001000000';
      if (!loopback) found.push(`${table} ${local}`);
    }
  }
  return found;
}

describe('the README quick start', () => {
  let child: ChildProcess;
  let port: number;
  let database: string;
  let spoolDir: string;
  let output = '';

  beforeAll(async () => {
    const influxUrl = process.env.INFLUX_URL;
    if (!influxUrl) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
    port = await freePort();
    database = uniqueDatabase('quickstart');
    spoolDir = mkdtempSync(join(tmpdir(), 'stats-quickstart-spool-'));
    child = spawn('bash', [join(REPO, '.ci', 'serve-local')], {
      cwd: REPO,
      // Overrides, each for isolation from other runs on this machine: a free PORT instead of
      // 20080; the run's throwaway InfluxDB and a database of its own instead of an influxd
      // under .local/ that keeps its data; a temporary SPOOL_DIR instead of .local/spool.
      // HOST is left unset: what it defaults to is under test.
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        INFLUX_URL: influxUrl,
        INFLUX_DATABASE: database,
        SPOOL_DIR: spoolDir,
      },
      detached: true, // its own process group, stopped whole below (bash and the node it runs)
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('the service of .ci/serve-local answers /ping', async () => {
      if (child.exitCode !== null) throw new Error(`serve-local exited:\n${output}`);
      const response = await fetch(`http://127.0.0.1:${port}/ping`);
      return response.status === 200 ? true : undefined;
    });
  });

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    if (database) await dropDatabase(process.env.INFLUX_URL!, database);
  });

  it('is in the README, on the port the README says', () => {
    expect(block).toBeDefined();
    expect(block!.code).toContain(`127.0.0.1:${README_PORT}/`);
  });

  it('serves on loopback only, with the demo token in access.json', () => {
    expect(output).toContain(`http://127.0.0.1:${port}`);
    expect(listeningBeyondLoopback(port)).toEqual([]);
  });

  it('prints what the README shows, reading back the id its POST answered', async () => {
    const script = block!.code.replaceAll(`127.0.0.1:${README_PORT}/`, `127.0.0.1:${port}/`);
    // A new line before each command, as a terminal's prompt gives one: /ping's answer has no
    // line end of its own. Blank lines are then dropped.
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `trap echo DEBUG\n${script}`], {
      cwd: REPO,
    });
    const printed = stdout.split('\n').filter((line) => line !== '');
    const shown = shownOutput(block!.code);
    expect(printed).toHaveLength(shown.length);

    const [ping, id, readBack] = printed as [string, string, string];
    const [shownPing, shownId, shownReadBack] = shown as [string, string, string];
    expect(JSON.parse(ping)).toEqual(JSON.parse(shownPing));

    expect(id).toMatch(SERVER_ID);
    expect(shownId).toMatch(SERVER_ID);

    const stored = JSON.parse(readBack) as Record<string, unknown>;
    const example = JSON.parse(shownReadBack) as Record<string, unknown>;
    // The same keys in the same order, the same values but for the id and the time of this run.
    expect(Object.keys(stored)).toEqual(Object.keys(example));
    expect(stored.event_id).toBe(id);
    expect(example.event_id).toBe(shownId);
    expect(Date.parse(String(stored.time))).not.toBeNaN();
    const others = (event: Record<string, unknown>) =>
      Object.entries(event).filter(([key]) => key !== 'time' && key !== 'event_id');
    expect(others(stored)).toEqual(others(example));
  });
});
