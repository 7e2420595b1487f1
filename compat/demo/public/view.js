// Renders a /v1/snapshot body (or the kit's state, which has the same shape): the part of
// the old page that does not change when it moves to the client kit.
const $ = (id) => document.getElementById(id);
let newest = 0;

export function render(data) {
  const totals = Object.values(data.streams.totals?.entries ?? {})
    .map((e) => e.value)
    .sort((a, b) => b.revenueUsd - a.revenueUsd);
  $('totals').tBodies[0].replaceChildren(
    ...totals.map((t) => row([t.country, t.orders, t.revenueUsd.toFixed(2)])),
  );
  const orders = (data.streams.orders?.items ?? []).slice(-15).reverse();
  $('orders').replaceChildren(
    ...orders.map((o) => {
      const li = document.createElement('li');
      li.textContent = `${o.value.city}, ${o.value.country}: $${o.value.amountUsd.toFixed(2)}`;
      return li;
    }),
  );
  for (const o of orders) newest = Math.max(newest, o.createdAt);
}

export function showStatus(text) {
  $('status').textContent = text;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

// How old the newest order on screen is: about 5 s on average when polling every 10 s.
setInterval(() => {
  if (newest > 0) $('age').textContent = `${((Date.now() - newest) / 1000).toFixed(1)} s`;
}, 250);
