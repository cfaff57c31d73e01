/**
 * A read event as JSON text, integers beyond ±2^53 (bigints) written as their digits: the
 * integer that was stored, not a rounded double and not a string. JSON.stringify (and so
 * Express's `res.json`) cannot write a bigint at all. The event is flat (one level of scalars).
 */
export function eventJson(event: Readonly<Record<string, unknown>>): string {
  let text = '';
  for (const key in event) {
    const value = event[key];
    if (value === undefined) continue;
    const written = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
    text += `${text === '' ? '{' : ','}${JSON.stringify(key)}:${written}`;
  }
  return text === '' ? '{}' : `${text}}`;
}
