import type { Comparison } from './compare.ts';

/** Bodies longer than this are cut in the log (the entry says so). */
export const MAX_LOGGED_BODY_CHARS = 64 * 1024;

/** A logged comparison: bodies possibly cut to {@link MAX_LOGGED_BODY_CHARS}. */
export type LoggedComparison = Comparison & { readonly bodiesCut?: boolean };

/**
 * The last `capacity` comparisons that were not a match (structural, drift, errors), with both
 * bodies, newest first. Fixed memory: at most capacity x 2 x 64 KiB of text.
 */
export class MismatchLog {
  private readonly ring: LoggedComparison[] = [];

  constructor(readonly capacity: number) {}

  add(c: Comparison): void {
    if (this.capacity === 0) return;
    const cut = (s: string | undefined) =>
      s !== undefined && s.length > MAX_LOGGED_BODY_CHARS ? s.slice(0, MAX_LOGGED_BODY_CHARS) : s;
    const bodiesCut =
      (c.legacyBody?.length ?? 0) > MAX_LOGGED_BODY_CHARS ||
      (c.renderedBody?.length ?? 0) > MAX_LOGGED_BODY_CHARS;
    const entry: LoggedComparison = {
      ...c,
      ...(c.legacyBody === undefined ? {} : { legacyBody: cut(c.legacyBody) }),
      ...(c.renderedBody === undefined ? {} : { renderedBody: cut(c.renderedBody) }),
      ...(bodiesCut ? { bodiesCut } : {}),
    };
    this.ring.unshift(entry);
    if (this.ring.length > this.capacity) this.ring.pop();
  }

  /** Newest first, optionally for one route. */
  entries(route?: string, limit = this.capacity): LoggedComparison[] {
    const all = route === undefined ? this.ring : this.ring.filter((e) => e.route === route);
    return all.slice(0, limit);
  }
}
