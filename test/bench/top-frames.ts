/**
 * The top self-time frames of a CPU profile (`node --cpu-prof`, or `BENCH_CPU_PROF=dir npm run
 * bench`), as a Markdown table: samples grouped by function and file, in percent of all samples
 * (idle included, so that the busy share shows too). When the benchmark left a `ready-ms` file
 * beside the profile, the samples of the service's start-up are left out.
 *
 *   npx ts-node --transpile-only test/bench/top-frames.ts <file.cpuprofile> [rows, default 10]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from '../support/service';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  /** Microseconds between samples. */
  timeDeltas: number[];
}

function main(): void {
  const [file, rowsArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: top-frames.ts <file.cpuprofile> [rows]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frameOf = new Map<number, string>();
  const packageOf = new Map<number, string>();
  for (const { id, callFrame } of profile.nodes) {
    const where = shortUrl(callFrame.url);
    packageOf.set(id, packageName(where, callFrame.functionName));
    frameOf.set(id, `${callFrame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`);
  }
  const readyFile = join(dirname(file), 'ready-ms');
  const skipUs = existsSync(readyFile) ? Number(readFileSync(readyFile, 'utf8')) * 1000 : 0;
  let elapsedUs = 0;
  const samples = profile.samples.filter((_, i) => (elapsedUs += profile.timeDeltas[i]!) > skipUs);
  const counts = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const id of samples) {
    const frame = frameOf.get(id) ?? '(unknown)';
    counts.set(frame, (counts.get(frame) ?? 0) + 1);
    const where = packageOf.get(id) ?? '(unknown)';
    byPackage.set(where, (byPackage.get(where) ?? 0) + 1);
  }
  const total = samples.length;
  const idle = counts.get('(idle)') ?? 0;
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 10));
  const lines = [
    `${total} samples, ${((100 * (total - idle)) / total).toFixed(1)}% busy`,
    '',
    '| self % | function and file |',
    '|-------:|-------------------|',
    ...top.map(([frame, n]) => `| ${((100 * n) / total).toFixed(1)} | \`${frame}\` |`),
    '',
    '| self % | package (or folder of dist/) |',
    '|-------:|------------------------------|',
    ...[...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(rowsArg ?? 10))
      .map(([name, n]) => `| ${((100 * n) / total).toFixed(1)} | ${name} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Where a frame's time belongs: its package, the folder of dist/, node, or V8's own. */
function packageName(where: string, functionName: string): string {
  if (where === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (where.startsWith('node:')) return 'node';
  if (where.startsWith('dist/')) return where.split('/').slice(0, 2).join('/');
  const parts = where.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** The file of a frame, short: relative to the repository, packages by name. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inPackage = /node_modules\/(.+)$/.exec(path);
  if (inPackage) return inPackage[1]!;
  return path.startsWith(`${REPO}/`) ? path.slice(REPO.length + 1) : path;
}

main();
