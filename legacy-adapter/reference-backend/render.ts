import type { LiveMapStore, StoredOrder, StoredTotal } from './store.ts';

/** The old endpoint lists this many orders, and tells clients to poll every REFRESH_SECONDS. */
export const LIST_LIMIT = 50;
export const REFRESH_SECONDS = 10;

/**
 * The old service's report, written the way it always was: snake_case, nested location and
 * amount objects, ISO timestamps, totals by revenue, newest orders first. Independent of the
 * gateway's contract on purpose: the contract must reproduce this, not share it.
 */
export function renderReport(store: LiveMapStore, now: number): string {
  const totals = [...store.totals.values()].sort(
    (a: StoredTotal, b: StoredTotal) =>
      b.revenueUsd - a.revenueUsd || (a.country < b.country ? -1 : a.country > b.country ? 1 : 0),
  );
  const orders = [...store.orders]
    .sort(
      (a: StoredOrder, b: StoredOrder) =>
        b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    )
    .slice(0, LIST_LIMIT);
  return JSON.stringify({
    generated_at: new Date(now).toISOString(),
    refresh_seconds: REFRESH_SECONDS,
    totals_by_country: totals.map((t) => ({
      country_code: t.country,
      order_count: t.orders,
      revenue_usd: t.revenueUsd,
      last_order_at: new Date(t.updatedAt).toISOString(),
    })),
    recent_orders: orders.map((o) => ({
      order_id: o.id,
      placed_at: new Date(o.createdAt).toISOString(),
      city: o.city,
      country_code: o.country,
      location: { lat: o.lat, lng: o.lon },
      amount: { value: o.amount, currency: o.currency },
      amount_usd: o.amountUsd,
    })),
  });
}
