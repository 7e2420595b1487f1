import type {
  PartitionPlan,
  RecordSink,
  RecordSource,
  SourceRecord,
  SourceStatus,
} from '../gateway/source/types.ts';

/**
 * A record source that also feeds extra sinks: the demo's reference legacy backend gets exactly
 * the records the cache gets, from the one demo generator, instead of a second generator.
 * The primary sink (the cache) decides where reading resumes; an extra sink that throws is
 * reported and never disturbs the primary.
 */
export class TeeSource implements RecordSource {
  readonly kind: RecordSource['kind'];

  constructor(
    private readonly inner: RecordSource,
    private readonly extra: readonly RecordSink[],
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.kind = inner.kind;
  }

  start(sink: RecordSink): Promise<void> {
    const extra = this.extra;
    const guard = (f: () => void) => {
      try {
        f();
      } catch (err) {
        this.onError(err);
      }
    };
    return this.inner.start({
      lineage(topic: string, lineage: string) {
        sink.lineage(topic, lineage);
        for (const s of extra) guard(() => s.lineage(topic, lineage));
      },
      plan(p: PartitionPlan) {
        sink.plan(p);
        for (const s of extra) guard(() => s.plan(p));
      },
      apply(topic: string, partition: number, records: readonly SourceRecord[], consumedTo?: number) {
        sink.apply(topic, partition, records, consumedTo);
        for (const s of extra) guard(() => s.apply(topic, partition, records, consumedTo));
      },
      nextOffset: (topic, partition) => sink.nextOffset(topic, partition),
    });
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  status(): SourceStatus {
    return this.inner.status();
  }
}
