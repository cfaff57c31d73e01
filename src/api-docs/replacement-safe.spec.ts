import { replacementSafe } from './replacement-safe';

/** Every pattern String.prototype.replace knows, in keys and in values. */
const DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'a $` b', description: "ends in `^[a-z]+$`, then $' and $& and $$ and $1 $<x>" },
  paths: { '/x/$`': { get: { summary: "$'", tags: ['$&', '$$$'] } } },
  $defs: { n: 1, t: true, z: null },
};

/** The document's JSON put into a template the way @nestjs/swagger does: a string replace. */
function embedded(document: unknown): string {
  const template = 'let options = <% swaggerOptions %>;';
  return template.replace('<% swaggerOptions %>', JSON.stringify(document));
}

describe(replacementSafe.name, () => {
  it('comes out of a string replace as the document itself', () => {
    expect(embedded(replacementSafe(DOCUMENT))).toBe(`let options = ${JSON.stringify(DOCUMENT)};`);
  });

  it('is needed: the document as it is comes out of the replace mangled', () => {
    expect(embedded(DOCUMENT)).not.toBe(`let options = ${JSON.stringify(DOCUMENT)};`);
  });

  it('leaves the document it was given alone', () => {
    const copy = structuredClone(DOCUMENT);
    replacementSafe(DOCUMENT);
    expect(DOCUMENT).toEqual(copy);
  });
});
