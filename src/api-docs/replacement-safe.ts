/**
 * `@nestjs/swagger` builds `/docs/swagger-ui-init.js` with
 * `template.replace('<% swaggerOptions %>', json)`: in the JSON of the document, `` $` ``, `$'`,
 * `$&`, `$$` and `$1` are then replacement patterns, not text, and a description holding one
 * (a regular expression ending in `$`, quoted in backticks) mangles the script and blanks the
 * page. Doubling every `$`, in keys and values, is the exact inverse of that replace: the
 * script then holds the document unchanged. Only for the script; `/docs-json` serves the
 * document itself.
 */
export function replacementSafe<T>(value: T): T {
  return escape(value) as T;
}

function escape(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escape);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [escape(key), escape(v)]));
  }
  return value;
}
