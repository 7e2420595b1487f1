// An example contract mounted from a ConfigMap (docs/deploy/README.md): `GET /api/v2/board.json`
// of an old service, rendered from the `totals` table. It imports nothing: the gateway calls the
// default export with its `z` and `defineContract` (docs/contracts.md), so the file works
// wherever it is mounted. `import { defineContract, z } from 'switchyard/contract'` works as
// well for contracts kept next to an installed package.
export default ({ z, defineContract }) => {
  const row = z.object({ country: z.string(), orders: z.number().int() }).strict();
  const isTotal = (v) =>
    typeof v === 'object' && v !== null && typeof v.country === 'string' && Number.isInteger(v.orders);
  return defineContract({
    name: 'orders-board',
    route: '/api/v2/board.json',
    version: 1,
    streams: { totals: 'table' },
    cacheControl: 'public, max-age=10',
    volatile: ['updated_at'],
    arrayKeys: { rows: 'country' },
    shape: z.object({ updated_at: z.string(), rows: z.array(row) }).strict(),
    render(view) {
      const rows = [];
      for (const r of view.table('totals')) if (isTotal(r.value)) rows.push(r.value);
      rows.sort((a, b) => b.orders - a.orders || (a.country < b.country ? -1 : 1));
      return {
        updated_at: new Date(view.asOf ?? 0).toISOString(),
        rows: rows.map((t) => ({ country: t.country, orders: t.orders })),
      };
    },
  });
};
