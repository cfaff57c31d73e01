import { quote } from './quote';

describe(quote.name, () => {
  it('keeps text of up to 64 characters whole', () => {
    const text = 'k'.repeat(64);
    expect(quote(text)).toBe(text);
    expect(quote('')).toBe('');
  });

  it('cuts longer text to 64 characters and an ellipsis', () => {
    expect(quote(`${'a'.repeat(64)}SECRET-TAIL`)).toBe(`${'a'.repeat(64)}…`);
  });

  it('keeps a 1 MB key to 65 characters', () => {
    expect(quote('x'.repeat(1024 * 1024))).toHaveLength(65);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(63)}😀tail`;
    expect(quote(text)).toBe(`${'a'.repeat(63)}…`);
  });
});
