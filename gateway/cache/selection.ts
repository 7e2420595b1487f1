import { LRUCache } from 'lru-cache';
import { streamsJson } from '../protocol/json.ts';
import { formatEventId, lineageHash, type ParsedEventId, parseEventId, streamSetHash } from './event-id.ts';
import type { History } from './history.ts';
import type { StreamState } from './stream-state.ts';
import type { AppliedUpdate } from './types.ts';

/**
 * A set of streams a client asked for (`?streams=a,b`), canonicalised (sorted, deduplicated).
 * Clients asking for the same set share one Selection: one snapshot render per version, one
 * framing of each update, one event id.
 */
export class Selection {
  readonly key: string;
  readonly setHash: string;
  readonly names: readonly string[];
  private rendered: { versions: number[]; json: string } | null = null;
  private prefix: { lineages: number; value: string } | null = null;

  constructor(readonly streams: readonly StreamState[]) {
    this.names = streams.map((s) => s.name);
    this.key = this.names.join(',');
    this.setHash = streamSetHash(this.names);
  }

  includes(stream: StreamState): boolean {
    return this.streams.includes(stream);
  }

  /**
   * `<set>-<lineage>`, the part of every id before the positions. Recomputed only when a stream's
   * lineage changed (the sum of their lineage versions grows with every change).
   */
  get idPrefix(): string {
    let lineages = 0;
    for (const s of this.streams) lineages += s.lineageVersion;
    if (this.prefix?.lineages === lineages) return this.prefix.value;
    const value = `${this.setHash}-${this.lineageTag()}`;
    this.prefix = { lineages, value };
    return value;
  }

  private lineageTag(): string {
    return lineageHash(this.streams.map((s) => s.lineage));
  }

  /** The event id of the current position. */
  eventId(): string {
    return formatEventId(
      this.idPrefix,
      this.streams.map((s) => s.position),
    );
  }

  /**
   * The polling ETag: `W/"<event id>"`, equal on every instance at the same position. TTL
   * expiry changes data without moving the position, so once rows of these streams expired on
   * this instance the tag becomes `W/"<event id>~x<count>"`: a poller never gets a 304 (or a
   * cached body) for data that has changed since.
   */
  etag(): string {
    let expired = 0;
    for (const s of this.streams) expired += s.expirations;
    const id = this.eventId();
    return expired === 0 ? `W/"${id}"` : `W/"${id}~x${expired}"`;
  }

  /** `{"a":{...},"b":{...}}`, rendered once per combination of stream versions. */
  streamsJson(): string {
    const versions = this.streams.map((s) => s.version);
    if (this.rendered?.versions.every((v, i) => v === versions[i])) return this.rendered.json;
    const json = streamsJson(this.streams.map((s) => ({ name: s.name, json: s.render() })));
    this.rendered = { versions, json };
    return json;
  }

  /** Latest createdAt/applied time is not needed here; the position identifies the data. */
  parseCursor(raw: string): ParsedEventId {
    return parseEventId(raw, this.setHash, this.idPrefix.slice(7), this.streams.length);
  }

  /** Whether the cursor has partitions beyond this instance's position (client came from a faster instance). */
  isAhead(cursors: readonly (readonly number[])[]): boolean {
    return this.streams.some((s, i) => cursors[i]!.some((c, p) => c > (s.offsets[p] ?? 0)));
  }

  /** Whether history still holds every update after the cursor (else: resync). */
  canReplay(cursors: readonly (readonly number[])[]): boolean {
    return this.streams.every((s, i) => {
      const c = cursors[i]!;
      if (c.length > s.offsets.length) return false;
      for (let p = 0; p < s.offsets.length; p++) if ((c[p] ?? 0) < s.floors[p]!) return false;
      return true;
    });
  }

  /**
   * The updates a client at `cursors` has missed, each with the id of the position after it
   * (per partition, the larger of the client's cursor and what was replayed).
   */
  replay(
    history: History,
    cursors: readonly (readonly number[])[],
  ): Array<{ update: AppliedUpdate; id: string }> {
    const work = this.streams.map((s, i) => s.offsets.map((_, p) => cursors[i]![p] ?? 0));
    const index = new Map(this.streams.map((s, i) => [s, i]));
    const missed = history.select((u) => {
      const i = index.get(u.stream);
      return i !== undefined && u.offset >= (cursors[i]![u.partition] ?? 0);
    });
    return missed.map((update) => {
      const offs = work[index.get(update.stream)!]!;
      if (update.offset + 1 > (offs[update.partition] ?? 0)) offs[update.partition] = update.offset + 1;
      return {
        update,
        id: formatEventId(
          this.idPrefix,
          work.map((o) => o.join('.')),
        ),
      };
    });
  }
}

/** Why a `streams` selection is refused: malformed, too long, too many names, or an unknown one. */
export type SelectionProblem = 'malformed' | 'too_long' | 'too_many' | 'unknown_stream';

/**
 * A selection the cache refuses. The cache knows no HTTP: the transport maps `problem` to the
 * error catalogue (gateway/http/send-error.ts), `message` and `details` going to the client as they are.
 */
export class SelectionError extends Error {
  constructor(
    readonly problem: SelectionProblem,
    message: string,
    readonly details: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'SelectionError';
  }
}

/** Parses `?streams=` into a shared Selection. Unknown names and oversize lists are 400s. */
export class SelectionRegistry {
  private readonly cache: LRUCache<string, Selection>;
  /** The same selections by the raw `?streams=` text, so a repeated poll skips the parsing. */
  private readonly byText: LRUCache<string, Selection>;

  constructor(
    private readonly streams: ReadonlyMap<string, StreamState>,
    private readonly maxPerRequest: number,
    /**
     * Whether UNKNOWN_STREAM lists the configured streams (`known`). Off when stream tokens are
     * on: the names are not public then (docs/security.md).
     */
    private readonly revealNames = true,
  ) {
    // Bounded: clients choose the combinations, so the number kept must not grow with them.
    this.cache = new LRUCache({ max: 1024 });
    this.byText = new LRUCache({ max: 1024 });
  }

  /** `undefined` or empty means every configured stream. */
  resolve(raw: unknown): Selection {
    if (raw !== undefined && typeof raw !== 'string')
      throw new SelectionError('malformed', 'streams must be given once, as a comma-separated list', {
        parameter: 'streams',
      });
    const text = raw ?? '';
    const known = this.byText.get(text);
    if (known) return known;
    const sel = this.parse(text);
    this.byText.set(text, sel);
    return sel;
  }

  private parse(text: string): Selection {
    if (text.length > 4096)
      throw new SelectionError('too_long', 'streams is too long', { parameter: 'streams' });
    const names =
      text === '' ? [...this.streams.keys()] : [...new Set(text.split(',').map((n) => n.trim()))].sort();
    if (names.length > this.maxPerRequest)
      throw new SelectionError('too_many', `at most ${this.maxPerRequest} streams per request`, {
        limit: this.maxPerRequest,
      });
    const key = names.join(',');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const states: StreamState[] = [];
    for (const name of names) {
      const s = this.streams.get(name);
      if (!s)
        throw new SelectionError('unknown_stream', `unknown stream "${name.slice(0, 64)}"`, {
          stream: name.slice(0, 64),
          ...(this.revealNames ? { known: [...this.streams.keys()] } : {}),
        });
      states.push(s);
    }
    const sel = new Selection(states);
    this.cache.set(key, sel);
    return sel;
  }
}
