/** Client input quoted in a refusal or a 404 keeps at most this many characters. */
export const QUOTE_MAX_CHARS = 64;

/**
 * `text` as a refusal may quote it: whole when short, else its first 64 characters and `…`, so
 * that a 1 MB key gets a small 400 and not the key back. Never splits a surrogate pair.
 */
export function quote(text: string): string {
  if (text.length <= QUOTE_MAX_CHARS) return text;
  let cut = QUOTE_MAX_CHARS;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…`;
}
