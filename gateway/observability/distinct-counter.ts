/**
 * Approximate count of distinct keys per time window in fixed memory (linear counting: hash
 * each key to one bit of a bitmap; n ~= -m ln(zero bits / m)). Two windows are kept, the
 * current and the previous one, so the count never drops to zero at a window boundary. With
 * the default 2^16 bits (8 KB per window) the estimate is within 1% up to ~50,000 keys and
 * stays usable up to a few hundred thousand; past saturation it reports its ceiling. Pure:
 * time is passed in, no timers.
 */
export class WindowedDistinctCounter {
  private current: Uint32Array;
  private previous: Uint32Array;
  private currentSet = 0;
  private previousSet = 0;
  private window = Number.NaN;

  /**
   * @param windowMs length of one window (the poll interval, for pollers)
   * @param bits bitmap size; a power of two
   */
  constructor(
    readonly windowMs: number,
    readonly bits = 1 << 16,
  ) {
    if (bits < 32 || (bits & (bits - 1)) !== 0) throw new Error('bits must be a power of two >= 32');
    this.current = new Uint32Array(bits / 32);
    this.previous = new Uint32Array(bits / 32);
  }

  /** Records that `key` was seen at `now` (epoch ms). */
  add(key: string, now: number): void {
    this.advance(now);
    const h = hash32(key) & (this.bits - 1);
    const word = h >>> 5;
    const mask = 1 << (h & 31);
    const w = this.current[word]!;
    if ((w & mask) === 0) {
      this.current[word] = w | mask;
      this.currentSet++;
    }
  }

  /**
   * Distinct keys seen in the last complete window, or in the current one if it already saw
   * more (so a growing population shows at once; a shrinking one within one window).
   */
  estimate(now: number): number {
    this.advance(now);
    return Math.max(this.linear(this.previousSet), this.linear(this.currentSet));
  }

  private linear(set: number): number {
    if (set === 0) return 0;
    const zeros = this.bits - set;
    if (zeros === 0) return Math.round(this.bits * Math.log(this.bits));
    return Math.round(-this.bits * Math.log(zeros / this.bits));
  }

  private advance(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w === this.window) return;
    if (w === this.window + 1) {
      const spare = this.previous;
      this.previous = this.current;
      this.previousSet = this.currentSet;
      this.current = spare;
    } else {
      // First use, a gap of more than one window, or a clock step back: nothing carries over.
      this.previous.fill(0);
      this.previousSet = 0;
    }
    this.current.fill(0);
    this.currentSet = 0;
    this.window = w;
  }
}

/** FNV-1a over UTF-16 code units, then a murmur3 finaliser so low bits are well mixed. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
