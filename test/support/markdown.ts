/**
 * Reading the repository's Markdown as GitHub renders it, for the tests that hold the documents to
 * the code: which files are documentation, their fenced code blocks, their headings' anchors and
 * their links.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './service';

/** README.md and every docs/*.md, as paths relative to the repository. */
export function documents(): string[] {
  const docs = readdirSync(join(REPO, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export function readDocument(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

export interface CodeBlock {
  /** The info string after the opening fence (`sh`, `ts`, `json`, or empty). */
  lang: string;
  code: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

/** The fenced (```) code blocks of a document, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  let open: { lang: string; line: number; body: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = /^\s*```(.*)$/.exec(text);
    if (open) {
      if (fence && fence[1]!.trim() === '') {
        blocks.push({ lang: open.lang, code: open.body.join('\n'), line: open.line });
        open = undefined;
      } else open.body.push(text);
    } else if (fence) open = { lang: fence[1]!.trim(), line: index + 1, body: [] };
  });
  if (open) throw new Error(`a code block opened on line ${open.line} is never closed`);
  return blocks;
}

/** The document without its fenced code blocks (each line of a block left empty). */
export function prose(markdown: string): string {
  let inBlock = false;
  return markdown
    .split('\n')
    .map((text) => {
      if (/^\s*```/.test(text)) {
        inBlock = !inBlock;
        return '';
      }
      return inBlock ? '' : text;
    })
    .join('\n');
}

/**
 * GitHub's anchor of a heading: the text lower-cased, inline code and link syntax reduced to
 * their text, punctuation dropped (letters, digits, `_`, `-` and spaces stay), each space a `-`.
 */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

export interface Heading {
  level: number;
  text: string;
  anchor: string;
}

/** The ATX headings outside code blocks, with their anchors (`-1`, `-2` for repeats, as GitHub). */
export function headings(markdown: string): Heading[] {
  const seen = new Map<string, number>();
  const found: Heading[] = [];
  for (const text of prose(markdown).split('\n')) {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(text);
    if (!match) continue;
    const base = slug(match[2]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.push({
      level: match[1]!.length,
      text: match[2]!,
      anchor: count ? `${base}-${count}` : base,
    });
  }
  return found;
}

export interface Link {
  label: string;
  target: string;
  line: number;
}

/** Inline links `[label](target)` outside code blocks (images included; a label may wrap lines). */
export function links(markdown: string): Link[] {
  const text = prose(markdown);
  return [
    ...text.matchAll(/\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
  ].map((match) => ({
    label: match[1]!.replace(/\s+/g, ' '),
    target: match[2]!,
    line: text.slice(0, match.index).split('\n').length,
  }));
}

/** A link that leaves the repository (a URL with a scheme, or mailto:). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}
