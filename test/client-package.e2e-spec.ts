/**
 * The client as callers get it: `npm run pack:client` builds stats-service-client-<version>.tgz,
 * which is installed offline into scratch projects (ESM and CommonJS JavaScript, and TypeScript
 * type-checked with the repo's tsc), each of which logs events to the real service and reads
 * one back. Installing it must bring no other package. The TypeScript snippets of the README,
 * docs/ and the package's own README compile, as written, against the installed package.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { influxQuery } from './support/influxd';
import { codeBlocks, documents, readDocument } from './support/markdown';
import { DEMO_TOKEN, REPO, serviceFor } from './support/service';

const CLIENT_PACKAGE = JSON.parse(
  readFileSync(join(REPO, 'src', 'client', 'package.json'), 'utf8'),
) as { name: string; version: string; dependencies?: object };
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * What every scratch program does, in its own module syntax: logs three deferred events, shuts
 * down, reads the first back with GET /log/event/{id}, and prints one JSON line.
 */
const BODY = `
const [url, token, run] = process.argv.slice(2);
const client = Analytics.init({ url, accessToken: token, tags: { run } });
const ids = [];
for (let n = 0; n < 3; n += 1) ids.push(await client.log({ event: 'package.test', uid: 'scratch', n }));
const undelivered = await client.shutdown();
const reply = await fetch(url + '/log/event/' + ids[0], { headers: { Authorization: 'Token ' + token } });
process.stdout.write(JSON.stringify({ ids, undelivered: undelivered.length, status: reply.status, readBack: await reply.json(), isStatsError: new StatsError('x', { kind: 'refused', status: 400 }) instanceof Error }));
`;

/** The TypeScript program: the same, typed, with the types the package ships. */
const TS_BODY = `
import { Analytics, StatsError, type AnalyticsOptions, type EventData } from 'stats-service-client';
declare const process: { argv: string[]; stdout: { write(text: string): void } };
const [url, token, run] = process.argv.slice(2) as [string, string, string];
const options: AnalyticsOptions = { url, accessToken: token, tags: { run } };
const client = Analytics.init(options);
const ids: string[] = [];
for (let n = 0; n < 3; n += 1) {
  const data: EventData = { event: 'package.test', uid: 'scratch', n };
  ids.push(await client.log(data));
}
const undelivered = await client.shutdown();
const reply = await fetch(url + '/log/event/' + ids[0], { headers: { Authorization: 'Token ' + token } });
process.stdout.write(JSON.stringify({ ids, undelivered: undelivered.length, status: reply.status, readBack: await reply.json(), isStatsError: new StatsError('x', { kind: 'refused', status: 400 }) instanceof Error }));
`;

/** A strict ES module TypeScript project with no @types (the package's types must stand alone). */
const TS_OPTIONS = {
  target: 'ES2022',
  module: 'nodenext',
  moduleResolution: 'nodenext',
  lib: ['ES2023', 'DOM'],
  types: [],
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  outDir: 'out',
};

/**
 * What a caller's strict TypeScript project may turn on: the package's snippets must compile
 * under the strictest settings there are, as ES modules (they await at the top level), with
 * Node's types (a Node service has them; the snippets read process.env).
 */
const SNIPPET_OPTIONS = {
  ...TS_OPTIONS,
  types: ['node'],
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noEmit: true,
};

/** Every document whose ```ts blocks show the client: README.md, docs/*.md, the package README. */
function clientSnippets(): Array<{ document: string; blocks: ReturnType<typeof codeBlocks> }> {
  return [...documents(), 'src/client/README.md']
    .map((document) => ({
      document,
      blocks: codeBlocks(readDocument(document)).filter(
        (block) => block.lang === 'ts' || block.lang === 'typescript',
      ),
    }))
    .filter(({ blocks }) => blocks.length > 0);
}

interface Outcome {
  ids: string[];
  undelivered: number;
  status: number;
  readBack: Record<string, unknown>;
  isStatsError: boolean;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a scratch program with node and parses the JSON line it prints. */
function runProgram(cwd: string, file: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Outcome);
      else reject(new Error(`${file} exited ${code}: ${stderr}`));
    });
  });
}

describe('the stats-service-client package', () => {
  const service = serviceFor();
  let dir: string;
  let tarball: string;
  /** The TypeScript project every TypeScript test writes its own files and tsconfig into. */
  let tsProject: string;

  /** A project with the tarball installed offline, and nothing else. */
  function scratchProject(name: string, packageJson: object): string {
    const project = join(dir, name);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name, private: true, ...packageJson }),
    );
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
    return project;
  }

  /** What `npm install` put in a project's node_modules. */
  function installed(project: string): string[] {
    return readdirSync(join(project, 'node_modules')).filter(
      (entry) => entry !== '.package-lock.json',
    );
  }

  async function expectLoggedAndReadBack(project: string, file: string): Promise<void> {
    const marker = `pkg_${randomBytes(6).toString('hex')}`;
    const outcome = await runProgram(project, file, [service().url, DEMO_TOKEN, marker]);

    expect(outcome).toMatchObject({ undelivered: 0, status: 200, isStatsError: true });
    expect(outcome.ids).toHaveLength(3);
    expect(outcome.ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect([...outcome.ids].sort()).toEqual(outcome.ids);
    expect(outcome.readBack).toMatchObject({
      status: 'stored',
      event: 'package.test',
      event_id: outcome.ids[0],
      uid: 'scratch',
      run: marker,
    });
    const rows = await influxQuery(
      service().influxUrl,
      service().database,
      `SELECT "event_id" FROM "analytics" WHERE "run" = '${marker}'`,
    );
    expect(rows.map((row) => row.event_id as string).sort()).toEqual([...outcome.ids].sort());
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stats-client-package-'));
    const printed = run('bash', [join(REPO, '.ci', 'pack-client'), dir], REPO)
      .trim()
      .split('\n');
    tarball = printed.at(-1)!;
    tsProject = scratchProject('ts-project', { type: 'module' });
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is named stats-service-client-<version>.tgz and declares no dependency', () => {
    expect(basename(tarball)).toBe(`stats-service-client-${CLIENT_PACKAGE.version}.tgz`);
    const listing = run('tar', ['-xzOf', tarball, 'package/package.json'], dir);
    const manifest = JSON.parse(listing) as Record<string, unknown>;
    expect(manifest.name).toBe('stats-service-client');
    for (const key of [
      'dependencies',
      'peerDependencies',
      'optionalDependencies',
      'bundleDependencies',
    ]) {
      expect(manifest).not.toHaveProperty(key);
    }
  });

  it('an ES module project logs events and reads one back; nothing else was installed', async () => {
    const project = scratchProject('esm-project', { type: 'module' });
    expect(installed(project)).toEqual(['stats-service-client']);
    writeFileSync(
      join(project, 'main.mjs'),
      `import { Analytics, StatsError } from 'stats-service-client';\n${BODY}`,
    );
    await expectLoggedAndReadBack(project, 'main.mjs');
  });

  it('a CommonJS project logs events and reads one back; nothing else was installed', async () => {
    const project = scratchProject('cjs-project', {});
    expect(installed(project)).toEqual(['stats-service-client']);
    writeFileSync(
      join(project, 'main.cjs'),
      `const { Analytics, StatsError } = require('stats-service-client');\n(async () => {\n${BODY}\n})().catch((error) => { process.stderr.write(String(error)); process.exit(1); });\n`,
    );
    await expectLoggedAndReadBack(project, 'main.cjs');
  });

  it('a TypeScript project type-checks with tsc against the shipped types, then logs and reads back', async () => {
    const project = tsProject;
    expect(installed(project)).toEqual(['stats-service-client']);
    writeFileSync(join(project, 'main.ts'), TS_BODY);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: TS_OPTIONS, files: ['main.ts'] }),
    );
    run(TSC, ['-p', 'tsconfig.json'], project);
    await expectLoggedAndReadBack(project, join('out', 'main.js'));
  });

  it.each([
    ['commonjs', 'node10'],
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ])(
    'a CommonJS TypeScript file type-checks too (module %s, moduleResolution %s)',
    (module, resolution) => {
      const project = tsProject;
      const name = `cjs-${resolution}`;
      writeFileSync(
        join(project, `${name}.cts`),
        `import { Analytics, type EventData } from 'stats-service-client';\nconst data: EventData = { event: 'x', uid: '' };\nvoid Analytics.init({ disabled: true }).log(data);\n`,
      );
      writeFileSync(
        join(project, `tsconfig.${name}.json`),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module,
            moduleResolution: resolution,
            lib: ['ES2023'],
            types: [],
            strict: true,
            noEmit: true,
          },
          files: [`${name}.cts`],
        }),
      );
      const checked = spawnSync(TSC, ['-p', `tsconfig.${name}.json`], {
        cwd: project,
        encoding: 'utf8',
      });
      expect({ status: checked.status, errors: checked.stdout }).toEqual({ status: 0, errors: '' });
    },
  );

  it('tsc refuses a call the shipped types do not allow (the types are really read)', () => {
    const project = tsProject;
    writeFileSync(
      join(project, 'wrong.ts'),
      `import { Analytics } from 'stats-service-client';\nAnalytics.init({ url: 42 });\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.wrong.json'),
      JSON.stringify({
        compilerOptions: { ...TS_OPTIONS, noEmit: true },
        files: ['wrong.ts'],
      }),
    );
    const checked = spawnSync(TSC, ['-p', 'tsconfig.wrong.json'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(checked.status).not.toBe(0);
    expect(checked.stdout).toMatch(
      /wrong\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/,
    );
  });

  it('the TypeScript snippets of the documents compile as written, one program per document', () => {
    const project = tsProject;
    const typesDir = join(project, 'node_modules', '@types');
    mkdirSync(typesDir, { recursive: true });
    symlinkSync(join(REPO, 'node_modules', '@types', 'node'), join(typesDir, 'node'));
    const snippets = clientSnippets();
    // Not vacuous: the README and the package's README show the client.
    expect(snippets.map(({ document }) => document)).toEqual(
      expect.arrayContaining(['README.md', 'src/client/README.md']),
    );
    const files = snippets.map(({ document, blocks }) => {
      const file = `snippets-${document.replace(/[^A-Za-z0-9]+/g, '-')}.mts`;
      // The blocks in order, as a reader goes through them; each marked with where it is.
      const program = blocks
        .map((block) => `// ${document}, the block at line ${block.line}\n${block.code}`)
        .join('\n');
      writeFileSync(join(project, file), `${program}\n`);
      return file;
    });
    writeFileSync(
      join(project, 'tsconfig.snippets.json'),
      JSON.stringify({ compilerOptions: SNIPPET_OPTIONS, files }),
    );
    const checked = spawnSync(TSC, ['-p', 'tsconfig.snippets.json'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect({ status: checked.status, errors: checked.stdout }).toEqual({ status: 0, errors: '' });
  });
});
