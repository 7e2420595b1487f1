/**
 * Reads one cookie from a `Cookie` header without allocating a map of all of them. Returns
 * undefined when absent, empty, or given more than once (an ambiguous credential is no
 * credential). Never throws: a malformed percent-escape yields the raw value.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // keep it raw: it will simply fail verification
      }
    }
    found = value;
  }
  return found === '' ? undefined : found;
}
