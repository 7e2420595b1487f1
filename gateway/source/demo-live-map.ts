/**
 * Black-Friday-like demo data: orders placed in cities around the world, and running sales
 * totals per country. Pure and seedable, shared by the embedded demo source, the Kafka demo
 * producer and the benchmarks.
 */

export interface City {
  readonly city: string;
  readonly country: string;
  readonly lat: number;
  readonly lon: number;
  readonly currency: string;
  /** Relative order volume. */
  readonly weight: number;
}

export const CITIES: readonly City[] = [
  { city: 'New York', country: 'US', lat: 40.71, lon: -74.01, currency: 'USD', weight: 10 },
  { city: 'Los Angeles', country: 'US', lat: 34.05, lon: -118.24, currency: 'USD', weight: 8 },
  { city: 'Chicago', country: 'US', lat: 41.88, lon: -87.63, currency: 'USD', weight: 5 },
  { city: 'Toronto', country: 'CA', lat: 43.65, lon: -79.38, currency: 'CAD', weight: 5 },
  { city: 'Vancouver', country: 'CA', lat: 49.28, lon: -123.12, currency: 'CAD', weight: 3 },
  { city: 'Mexico City', country: 'MX', lat: 19.43, lon: -99.13, currency: 'MXN', weight: 4 },
  { city: 'São Paulo', country: 'BR', lat: -23.55, lon: -46.63, currency: 'BRL', weight: 5 },
  { city: 'Buenos Aires', country: 'AR', lat: -34.6, lon: -58.38, currency: 'ARS', weight: 2 },
  { city: 'London', country: 'GB', lat: 51.51, lon: -0.13, currency: 'GBP', weight: 8 },
  { city: 'Paris', country: 'FR', lat: 48.86, lon: 2.35, currency: 'EUR', weight: 6 },
  { city: 'Berlin', country: 'DE', lat: 52.52, lon: 13.4, currency: 'EUR', weight: 6 },
  { city: 'Madrid', country: 'ES', lat: 40.42, lon: -3.7, currency: 'EUR', weight: 3 },
  { city: 'Amsterdam', country: 'NL', lat: 52.37, lon: 4.9, currency: 'EUR', weight: 3 },
  { city: 'Stockholm', country: 'SE', lat: 59.33, lon: 18.07, currency: 'SEK', weight: 2 },
  { city: 'Lagos', country: 'NG', lat: 6.52, lon: 3.38, currency: 'NGN', weight: 2 },
  { city: 'Cape Town', country: 'ZA', lat: -33.92, lon: 18.42, currency: 'ZAR', weight: 2 },
  { city: 'Dubai', country: 'AE', lat: 25.2, lon: 55.27, currency: 'AED', weight: 2 },
  { city: 'Mumbai', country: 'IN', lat: 19.08, lon: 72.88, currency: 'INR', weight: 4 },
  { city: 'Singapore', country: 'SG', lat: 1.35, lon: 103.82, currency: 'SGD', weight: 3 },
  { city: 'Tokyo', country: 'JP', lat: 35.68, lon: 139.69, currency: 'JPY', weight: 6 },
  { city: 'Seoul', country: 'KR', lat: 37.57, lon: 126.98, currency: 'KRW', weight: 3 },
  { city: 'Sydney', country: 'AU', lat: -33.87, lon: 151.21, currency: 'AUD', weight: 4 },
  { city: 'Auckland', country: 'NZ', lat: -36.85, lon: 174.76, currency: 'NZD', weight: 1 },
];

/** Rough USD rates, so totals across currencies add up to something meaningful. */
const USD_PER_UNIT: Record<string, number> = {
  USD: 1,
  CAD: 0.73,
  MXN: 0.058,
  BRL: 0.19,
  ARS: 0.001,
  GBP: 1.27,
  EUR: 1.08,
  SEK: 0.095,
  NGN: 0.00065,
  ZAR: 0.055,
  AED: 0.27,
  INR: 0.012,
  SGD: 0.74,
  JPY: 0.0067,
  KRW: 0.00075,
  AUD: 0.66,
  NZD: 0.6,
};

export interface Order {
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

export interface CountryTotal {
  country: string;
  orders: number;
  revenueUsd: number;
  updatedAt: number;
}

/** Small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOTAL_WEIGHT = CITIES.reduce((s, c) => s + c.weight, 0);

/** Generates orders and keeps the running totals they imply. */
export class LiveMapGenerator {
  private seq = 0;
  private readonly totals = new Map<string, CountryTotal>();

  constructor(
    private readonly random: () => number = Math.random,
    private readonly idPrefix = 'o',
  ) {}

  /** The next order, and the new total of its country. */
  next(now: number): { order: Order; total: CountryTotal } {
    let pick = this.random() * TOTAL_WEIGHT;
    let city = CITIES[0]!;
    for (const c of CITIES) {
      pick -= c.weight;
      if (pick <= 0) {
        city = c;
        break;
      }
    }
    const usd = Math.round((5 + this.random() ** 2 * 400) * 100) / 100;
    const rate = USD_PER_UNIT[city.currency] ?? 1;
    const order: Order = {
      id: `${this.idPrefix}${++this.seq}`,
      city: city.city,
      country: city.country,
      lat: Math.round((city.lat + (this.random() - 0.5) * 0.6) * 1000) / 1000,
      lon: Math.round((city.lon + (this.random() - 0.5) * 0.6) * 1000) / 1000,
      amount: Math.round((usd / rate) * 100) / 100,
      currency: city.currency,
      amountUsd: usd,
      createdAt: now,
    };
    const prev = this.totals.get(city.country);
    const total: CountryTotal = {
      country: city.country,
      orders: (prev?.orders ?? 0) + 1,
      revenueUsd: Math.round(((prev?.revenueUsd ?? 0) + usd) * 100) / 100,
      updatedAt: now,
    };
    this.totals.set(city.country, total);
    return { order, total };
  }
}
