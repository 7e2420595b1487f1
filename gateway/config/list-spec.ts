/**
 * Reads a list setting (STREAMS, LEGACY_ROUTES) given either as a JSON array or in its short form:
 * entries separated by commas, each entry's fields by colons (`orders:feed:live.orders,...`).
 * `entry` turns one entry's fields into an object (or throws a message naming the entry); blank
 * entries are skipped. Returns what the schema will validate; throws on unreadable JSON.
 */
export function parseListSpec(raw: string, entry: (fields: string[], text: string) => unknown): unknown {
  const text = raw.trim();
  if (text.startsWith('[')) return JSON.parse(text);
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => entry(part.split(':'), part));
}
