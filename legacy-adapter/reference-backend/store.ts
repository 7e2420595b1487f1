import type { PartitionPlan, RecordSink, SourceRecord } from '../../gateway/source/types.ts';

/** An order as the old service stores it (its own model, validated on ingest). */
export interface StoredOrder {
  readonly id: string;
  readonly city: string;
  readonly country: string;
  readonly lat: number;
  readonly lon: number;
  readonly amount: number;
  readonly currency: string;
  readonly amountUsd: number;
  readonly createdAt: number;
}

/** A country's running totals as the old service stores them. */
export interface StoredTotal {
  readonly country: string;
  readonly orders: number;
  readonly revenueUsd: number;
  readonly updatedAt: number;
}

export interface LiveMapStoreOptions {
  ordersTopic: string;
  totalsTopic: string;
  /** Orders kept (newest by arrival); the endpoint lists fewer. */
  keepOrders?: number;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const str = (v: unknown): v is string => typeof v === 'string';

function parse(value: Buffer | null): Record<string, unknown> | null {
  if (value === null) return null;
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The old live-map service's in-memory "database": the latest orders and the totals per
 * country, fed by whatever carries the records (its own Kafka consumer, or the demo feed
 * through a tee). It is a RecordSink, so any RecordSource can feed it. Records it cannot read
 * are skipped, as the old ingest job did.
 */
export class LiveMapStore implements RecordSink {
  readonly orders: StoredOrder[] = [];
  readonly totals = new Map<string, StoredTotal>();
  private readonly next = new Map<string, number>();
  private readonly targets = new Map<string, number>();
  private readonly plannedTopics = new Set<string>();
  private readonly lineages = new Map<string, string>();
  private readonly keep: number;
  private loadedWaiters: Array<() => void> = [];
  private loaded = false;

  constructor(private readonly opts: LiveMapStoreOptions) {
    this.keep = opts.keepOrders ?? 500;
  }

  /** Replaced data (another lineage): forget the topic's rows and offsets; the source re-plans it. */
  lineage(topic: string, lineage: string): void {
    const known = this.lineages.get(topic);
    this.lineages.set(topic, lineage);
    if (known === undefined || known === lineage) return;
    for (const tp of [...this.next.keys()]) if (tp.startsWith(`${topic}/`)) this.next.delete(tp);
    for (const tp of [...this.targets.keys()]) if (tp.startsWith(`${topic}/`)) this.targets.delete(tp);
    if (topic === this.opts.ordersTopic) this.orders.length = 0;
    else if (topic === this.opts.totalsTopic) this.totals.clear();
  }

  plan(p: PartitionPlan): void {
    const tp = `${p.topic}/${p.partition}`;
    if (!this.next.has(tp)) this.next.set(tp, p.startOffset);
    this.targets.set(tp, Math.max(this.targets.get(tp) ?? 0, p.highWatermark));
    this.plannedTopics.add(p.topic);
    this.checkLoaded();
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.next.get(`${topic}/${partition}`);
  }

  apply(topic: string, partition: number, records: readonly SourceRecord[], consumedTo?: number): void {
    const tp = `${topic}/${partition}`;
    for (const r of records) {
      if (r.offset < (this.next.get(tp) ?? 0)) continue;
      this.next.set(tp, r.offset + 1);
      if (topic === this.opts.ordersTopic) this.addOrder(parse(r.value));
      else if (topic === this.opts.totalsTopic) this.setTotal(r.key?.toString('utf8') ?? null, r.value);
    }
    if (consumedTo !== undefined && consumedTo > (this.next.get(tp) ?? 0)) this.next.set(tp, consumedTo);
    this.checkLoaded();
  }

  /** Resolves once both topics are planned and read up to their high-water marks at start. */
  whenLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return new Promise((resolve) => this.loadedWaiters.push(resolve));
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  private addOrder(v: Record<string, unknown> | null): void {
    if (
      !v ||
      !str(v.id) ||
      !str(v.city) ||
      !str(v.country) ||
      !num(v.lat) ||
      !num(v.lon) ||
      !num(v.amount) ||
      !str(v.currency) ||
      !num(v.amountUsd) ||
      !num(v.createdAt)
    )
      return;
    this.orders.push({
      id: v.id,
      city: v.city,
      country: v.country,
      lat: v.lat,
      lon: v.lon,
      amount: v.amount,
      currency: v.currency,
      amountUsd: v.amountUsd,
      createdAt: v.createdAt,
    });
    if (this.orders.length > this.keep) this.orders.splice(0, this.orders.length - this.keep);
  }

  private setTotal(key: string | null, value: Buffer | null): void {
    if (key === null || key === '') return;
    if (value === null) {
      this.totals.delete(key);
      return;
    }
    const v = parse(value);
    if (!v || !str(v.country) || !num(v.orders) || !num(v.revenueUsd) || !num(v.updatedAt)) return;
    this.totals.set(key, {
      country: v.country,
      orders: v.orders,
      revenueUsd: v.revenueUsd,
      updatedAt: v.updatedAt,
    });
  }

  private checkLoaded(): void {
    if (this.loaded) return;
    if (!this.plannedTopics.has(this.opts.ordersTopic) || !this.plannedTopics.has(this.opts.totalsTopic))
      return;
    for (const [tp, target] of this.targets) if ((this.next.get(tp) ?? 0) < target) return;
    this.loaded = true;
    const waiters = this.loadedWaiters;
    this.loadedWaiters = [];
    for (const w of waiters) w();
  }
}
