import { gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';

/** A response body rendered once per version, with its gzip made at most once too. */
export class VersionedBody {
  private gz: Buffer | null = null;
  readonly identity: Buffer;

  constructor(
    readonly etag: string,
    body: string,
  ) {
    this.identity = Buffer.from(body, 'utf8');
  }

  get gzip(): Buffer {
    this.gz ??= gzipSync(this.identity, { level: 6 });
    return this.gz;
  }
}

/**
 * Per-version body cache shared by the polling endpoint and legacy contracts: a poll storm at
 * one version costs one serialisation and one compression, not one per request.
 */
export class BodyCache {
  private readonly entries = new LRUCache<string, VersionedBody>({ max: 256 });

  get(key: string, version: string, render: () => string): VersionedBody {
    const hit = this.entries.get(key);
    if (hit && hit.etag === version) return hit;
    const body = new VersionedBody(version, render());
    this.entries.set(key, body);
    return body;
  }
}

/** True when an If-None-Match header names this (weak) ETag, or is `*`. Weak comparison per RFC 9110. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  // The common case, a client sending back the ETag it was given: no parsing.
  if (ifNoneMatch === etag) return true;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** Whether the client accepts gzip (q=0 excluded). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip') return false;
    const q = params.find((p) => p.trim().startsWith('q='));
    return q === undefined || Number(q.trim().slice(2)) > 0;
  });
}
