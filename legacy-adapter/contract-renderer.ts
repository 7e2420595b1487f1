import type { LegacyContract, SnapshotView } from '../compat/contracts/types.ts';
import type { Selection } from '../gateway/cache/selection.ts';
import type { BodyCache, VersionedBody } from '../gateway/poll/versioned-body.ts';
import { buildView, sameVersions, versionsOf } from './snapshot-view.ts';

/** One render of a contract at one version of its streams. */
export interface Rendered {
  readonly etag: string;
  readonly view: SnapshotView;
  /** The body as a value (shadow compares it); never mutated. */
  readonly value: unknown;
  /** The body as JSON text, serialised on first use and kept (serve and the shadow log share it). */
  text(): string;
}

/** A contract's render threw: a contract bug or a record it cannot handle. */
export class RenderError extends Error {
  constructor(contract: string, cause: unknown) {
    super(`contract "${contract}" failed to render: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'RenderError';
  }
}

/**
 * Renders one route's contract at most once per version of its streams (a failure too), and
 * its body bytes and gzip at most once per ETag through the shared BodyCache (keyed by route,
 * contract and contract version). The weak ETag is the streams' position, so instances at the
 * same position answer `If-None-Match` alike.
 */
export class ContractRenderer {
  private memo: { versions: number[]; result: Rendered | RenderError } | null = null;

  constructor(
    readonly contract: LegacyContract,
    readonly selection: Selection,
    private readonly bodies: BodyCache,
    private readonly bodyKey: string,
    /** Told once per version that fails to render (for a log line). */
    private readonly onError: (err: RenderError) => void = () => {},
  ) {}

  /** The current render; throws RenderError when the contract cannot render this version. */
  current(): Rendered {
    const versions = versionsOf(this.selection.streams);
    if (!this.memo || !sameVersions(this.memo.versions, versions)) {
      this.memo = { versions, result: this.render() };
      if (this.memo.result instanceof RenderError) this.onError(this.memo.result);
    }
    const r = this.memo.result;
    if (r instanceof RenderError) throw r;
    return r;
  }

  /** The current body, serialised once per ETag. */
  body(): VersionedBody {
    const r = this.current();
    return this.bodies.get(this.bodyKey, r.etag, () => r.text());
  }

  private render(): Rendered | RenderError {
    try {
      const view = buildView(this.selection);
      const value = this.contract.render(view);
      // The ETag is the position, as on /v1/snapshot: instances agree, and the poll observer
      // reads a client's position from it. (The body key carries the contract version.)
      const etag = `W/"${view.position}"`;
      let json: string | null = null;
      return { etag, view, value, text: () => (json ??= JSON.stringify(value)) };
    } catch (err) {
      return new RenderError(this.contract.name, err);
    }
  }
}
