import { LiveMapGenerator, seededRandom } from '../../gateway/source/demo-live-map.ts';

/** One record as every system receives it: the same key, JSON text and creation time. */
export interface BenchMessage {
  readonly key: string;
  readonly value: string;
  /** Epoch ms; also the value of the JSON's `createdAt` field and the Kafka record timestamp. */
  readonly createdAt: number;
}

const PRODUCTS = [
  'Merino wool beanie',
  'Organic cotton tee',
  'Ceramic pour-over set',
  'Trail running socks (3-pack)',
  'Recycled canvas tote',
  'Cold brew coffee concentrate',
  'Bamboo cutting board',
  'Wireless charging pad',
];
const CHANNELS = ['online_store', 'pos', 'mobile_app', 'marketplace'];

/**
 * Live-map orders (gateway/source/demo-live-map.ts) widened with shop, product and channel fields to
 * the ~250 bytes of a realistic order event. Seeded: every system of a run is fed the very same
 * sequence. `createdAt` stays the last field, written from the send time.
 */
export class OrderFactory {
  private readonly gen: LiveMapGenerator;
  private readonly random: () => number;

  constructor(seed = 20241129) {
    this.random = seededRandom(seed ^ 0x5eed);
    this.gen = new LiveMapGenerator(seededRandom(seed), 'o');
  }

  next(now: number): BenchMessage {
    const { order } = this.gen.next(now);
    const { createdAt, ...rest } = order;
    const r = this.random;
    const value = JSON.stringify({
      ...rest,
      shopId: `shop-${String(Math.floor(r() * 1e6)).padStart(6, '0')}`,
      product: PRODUCTS[Math.floor(r() * PRODUCTS.length)],
      quantity: 1 + Math.floor(r() * 4),
      channel: CHANNELS[Math.floor(r() * CHANNELS.length)],
      createdAt,
    });
    return { key: order.id, value, createdAt };
  }
}
