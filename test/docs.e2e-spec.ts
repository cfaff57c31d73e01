/**
 * The documents hold together: README.md stays a guide (under 400 lines) that links every
 * document of docs/, each document opens with a table of contents of all its sections, every
 * relative link of README.md and docs/*.md reaches a file of the repository and, where it names
 * an anchor, a heading of the Markdown file it points at (GitHub's anchors), and every section a
 * source file, test or deployment file cites by name (`docs/API.md, "Points"`) is there.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import {
  documents,
  headings,
  isExternal,
  links,
  prose,
  readDocument,
  slug,
} from './support/markdown';
import { REPO } from './support/service';

const README_MAX_LINES = 400;

/** `docs/API.md` + `../README.md#x` → `README.md`; `#x` alone → the document itself. */
function resolveTarget(from: string, target: string): { path: string; anchor?: string } {
  const [file, anchor] = target.split('#', 2) as [string, string | undefined];
  const path = file === '' ? from : normalize(join(dirname(from), decodeURI(file)));
  return { path, anchor: anchor || undefined };
}

describe('slug', () => {
  it('makes the anchors GitHub makes', () => {
    expect(slug('Switching from the original (and rolling back)')).toBe(
      'switching-from-the-original-and-rolling-back',
    );
    expect(slug('InfluxDB 1.x, 2.x and 3.x')).toBe('influxdb-1x-2x-and-3x');
    expect(slug('Compose: the whole stack on a laptop')).toBe(
      'compose-the-whole-stack-on-a-laptop',
    );
    expect(slug('`access.json` and `SIGHUP`')).toBe('accessjson-and-sighup');
    expect(slug('Event_names — in use')).toBe('event_names--in-use');
  });
});

describe('README.md', () => {
  const readme = readDocument('README.md');

  it(`is a guide of fewer than ${README_MAX_LINES} lines`, () => {
    expect(readme.split('\n').length).toBeLessThan(README_MAX_LINES);
  });

  it('links every document of docs/', () => {
    const linked = new Set(
      links(readme).map((link) => resolveTarget('README.md', link.target).path),
    );
    const docs = documents().filter((path) => path.startsWith('docs/'));
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.filter((path) => !linked.has(path))).toEqual([]);
  });
});

describe.each(documents())('%s', (path) => {
  const text = readDocument(path);

  it('has a table of contents that lists every section', () => {
    const all = headings(text);
    const contents = all.find((heading) => heading.level === 2 && heading.text === 'Contents');
    expect(contents).toBeDefined();
    // The contents: from its heading to the next heading.
    const body = prose(text)
      .split(/^## Contents$/m)[1]!
      .split(/^#{1,6} /m)[0]!;
    const listed = new Set(links(body).map((link) => link.target));
    const sections = all.filter((heading) => heading.level >= 2 && heading !== contents);
    expect(sections.length).toBeGreaterThan(0);
    expect(sections.filter((heading) => !listed.has(`#${heading.anchor}`))).toEqual([]);
  });

  it('names only files of the repository that exist (`src/…`, `test/…`, `config/…` in backquotes)', () => {
    const named = [...prose(text).matchAll(/`((?:src|test|config|\.ci|vendor)\/[\w./-]+)`/g)].map(
      (match) => match[1]!,
    );
    expect(named.filter((file) => !existsSync(join(REPO, file)))).toEqual([]);
  });

  it('has no relative link to a missing file or anchor', () => {
    const broken: string[] = [];
    for (const link of links(text)) {
      if (isExternal(link.target)) continue;
      const { path: target, anchor } = resolveTarget(path, link.target);
      const where = `${path}:${link.line} [${link.label}](${link.target})`;
      if (relative(REPO, join(REPO, target)).startsWith('..')) {
        broken.push(`${where}: outside the repository`);
      } else if (!existsSync(join(REPO, target))) {
        broken.push(`${where}: no file ${target}`);
      } else if (anchor !== undefined) {
        if (!target.endsWith('.md') || statSync(join(REPO, target)).isDirectory()) {
          broken.push(`${where}: an anchor into a file that is not Markdown`);
        } else if (!headings(readDocument(target)).some((heading) => heading.anchor === anchor)) {
          broken.push(`${where}: no heading #${anchor} in ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

/** Every file of the folders whose comments and messages cite the documents, recursively. */
function citingFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return walk(path);
      return /\.(ts|js|mjs|ya?ml|example|conf)$|^[a-z-]+$/.test(entry.name) ? [path] : [];
    });
  return [
    ...['src', 'test', '.ci', 'config'].flatMap(walk),
    '.dependency-cruiser.js',
    'Dockerfile',
  ];
}

/**
 * Citations of a section by name, `README "The API"`, `docs/API.md, "Points"` or
 * `docs/OPERATIONS.md ("Sizing")`, also where a comment wraps inside the name.
 */
function citations(text: string): Array<{ document: string; section: string }> {
  const joined = text.replace(/\n\s*(?:\*|\/\/|#)?\s*/g, ' ');
  return [...joined.matchAll(/\b(README|docs\/[A-Z]+\.md)(?:,\s*|\s+\(?)"([^"]+)"/g)].map(
    (match) => ({
      document: match[1] === 'README' ? 'README.md' : match[1]!,
      section: match[2]!,
    }),
  );
}

describe('sections cited by name in code, tests and deployment files', () => {
  it('finds the citations (a name wrapped by a comment included)', () => {
    expect(citations('see README "The API" and docs/API.md, "Where a\n * read looks".')).toEqual([
      { document: 'README.md', section: 'The API' },
      { document: 'docs/API.md', section: 'Where a read looks' },
    ]);
    expect(citations('# docs/OPERATIONS.md ("Sizing")')).toEqual([
      { document: 'docs/OPERATIONS.md', section: 'Sizing' },
    ]);
  });

  it('each names a heading of that document (or the start of one, before its colon)', () => {
    const missing: string[] = [];
    let found = 0;
    // This file's own citations are examples of the syntax.
    for (const file of citingFiles().filter((path) => path !== 'test/docs.e2e-spec.ts')) {
      for (const { document, section } of citations(readFileSync(join(REPO, file), 'utf8'))) {
        found++;
        const names = existsSync(join(REPO, document))
          ? headings(readDocument(document)).map((heading) => heading.text.replace(/`/g, ''))
          : [];
        if (!names.some((name) => name === section || name.startsWith(`${section}:`))) {
          missing.push(`${file}: ${document}, "${section}"`);
        }
      }
    }
    // Not vacuous: the code cites the documents in dozens of places.
    expect(found).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
