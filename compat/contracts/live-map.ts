import { z } from 'zod';
import type { LegacyContract, SnapshotView } from './types.ts';

/**
 * The reference contract: `GET /api/live-map.json` of the old live-map service
 * (legacy-adapter/reference-backend), rendered from the `orders` feed and the `totals` table.
 * It must produce exactly what the old service produces from the same records: same field
 * names, same key order, same sorting, same limits.
 */

/** How many orders the old endpoint lists (newest first). */
export const RECENT_ORDERS_LIMIT = 50;
/** What the old endpoint told its clients about its polling cadence. */
export const REFRESH_SECONDS = 10;

const totalRow = z
  .object({
    country_code: z.string(),
    order_count: z.number().int(),
    revenue_usd: z.number(),
    last_order_at: z.string(),
  })
  .strict();

const orderRow = z
  .object({
    order_id: z.string(),
    placed_at: z.string(),
    city: z.string(),
    country_code: z.string(),
    location: z.object({ lat: z.number(), lng: z.number() }).strict(),
    amount: z.object({ value: z.number(), currency: z.string() }).strict(),
    amount_usd: z.number(),
  })
  .strict();

/** The old endpoint's documented response. */
export const liveMapShape = z
  .object({
    generated_at: z.string(),
    refresh_seconds: z.number().int(),
    totals_by_country: z.array(totalRow),
    recent_orders: z.array(orderRow),
  })
  .strict();

export type LiveMapBody = z.infer<typeof liveMapShape>;

/**
 * The order record as the gateway's streams carry it. The demo generator (gateway/source/
 * demo-live-map.ts `Order`) writes the same fields, but this is the reading side of a topic:
 * a contract lives in its owner's repository, sees records as JSON it checks (`isOrder`), and
 * can import only `switchyard/contract`, so it declares what it relies on itself.
 */
interface OrderRecord {
  id: string;
  city: string;
  country: string;
  lat: number;
  lon: number;
  amount: number;
  currency: string;
  amountUsd: number;
  createdAt: number;
}

interface TotalRecord {
  country: string;
  orders: number;
  revenueUsd: number;
  updatedAt: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Records the old service would skip are skipped here too (it validates on ingest). */
function isOrder(v: unknown): v is OrderRecord {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.city) &&
    isStr(v.country) &&
    isNum(v.lat) &&
    isNum(v.lon) &&
    isNum(v.amount) &&
    isStr(v.currency) &&
    isNum(v.amountUsd) &&
    isNum(v.createdAt)
  );
}

function isTotal(v: unknown): v is TotalRecord {
  return isObj(v) && isStr(v.country) && isNum(v.orders) && isNum(v.revenueUsd) && isNum(v.updatedAt);
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The old service's ORDER BY placed_at DESC, order_id DESC. */
function newestFirst(a: OrderRecord, b: OrderRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The old service's ORDER BY revenue_usd DESC, country_code ASC. */
function byRevenue(a: TotalRecord, b: TotalRecord): number {
  if (a.revenueUsd !== b.revenueUsd) return b.revenueUsd - a.revenueUsd;
  return a.country < b.country ? -1 : a.country > b.country ? 1 : 0;
}

function render(view: SnapshotView): LiveMapBody {
  const totals: TotalRecord[] = [];
  for (const row of view.table('totals')) if (isTotal(row.value)) totals.push(row.value);
  const orders: OrderRecord[] = [];
  for (const item of view.feed('orders')) if (isOrder(item.value)) orders.push(item.value);
  return {
    // The old service stamps its render time; ours is the data time, so every instance at the
    // same position renders the same bytes. Declared volatile below.
    generated_at: iso(view.asOf ?? 0),
    refresh_seconds: REFRESH_SECONDS,
    totals_by_country: totals.sort(byRevenue).map((t) => ({
      country_code: t.country,
      order_count: t.orders,
      revenue_usd: t.revenueUsd,
      last_order_at: iso(t.updatedAt),
    })),
    recent_orders: orders
      .sort(newestFirst)
      .slice(0, RECENT_ORDERS_LIMIT)
      .map((o) => ({
        order_id: o.id,
        placed_at: iso(o.createdAt),
        city: o.city,
        country_code: o.country,
        location: { lat: o.lat, lng: o.lon },
        amount: { value: o.amount, currency: o.currency },
        amount_usd: o.amountUsd,
      })),
  };
}

export const liveMapContract: LegacyContract<LiveMapBody> = {
  name: 'live-map',
  route: '/api/live-map.json',
  version: 1,
  streams: { orders: 'feed', totals: 'table' },
  cacheControl: `public, max-age=${REFRESH_SECONDS}`,
  volatile: ['generated_at'],
  arrayKeys: { totals_by_country: 'country_code', recent_orders: 'order_id' },
  shape: liveMapShape,
  render,
  // The newest data the old body shows, per stream, not its `generated_at`: the old service can
  // render after a record was created but before its ingest saw it, and it reads its two
  // sources separately, so one can be current while the other lags.
  asOf(body) {
    if (!isObj(body)) return null;
    const newest = (rows: unknown, field: string): number | null => {
      let max: number | null = null;
      if (Array.isArray(rows))
        for (const r of rows) {
          const t = isObj(r) && isStr(r[field]) ? Date.parse(r[field]) : Number.NaN;
          if (Number.isFinite(t) && (max === null || t > max)) max = t;
        }
      return max;
    };
    return {
      orders: newest(body.recent_orders, 'placed_at'),
      totals: newest(body.totals_by_country, 'last_order_at'),
    };
  },
};

/** A contract module's default export is what LEGACY_CONTRACTS loads (docs/contracts.md). */
export default liveMapContract;
