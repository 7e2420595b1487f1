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
    return linearCount(this.bits, set);
  }

  /**
   * Both windows as they are at `now`, to be merged with other processes' counters of the same
   * size and window (the workers of an instance): see {@link estimateUnion}.
   */
  sketch(now: number): DistinctSketch {
    this.advance(now);
    return {
      bits: this.bits,
      window: this.window,
      current: Buffer.from(this.current.buffer, this.current.byteOffset, this.current.byteLength).toString(
        'base64',
      ),
      previous: Buffer.from(
        this.previous.buffer,
        this.previous.byteOffset,
        this.previous.byteLength,
      ).toString('base64'),
    };
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

/** A counter's two windows, serialisable (IPC): {@link WindowedDistinctCounter.sketch}. */
export interface DistinctSketch {
  bits: number;
  /** Index of the current window (epoch ms / window length). */
  window: number;
  /** Bitmaps as base64 of their 32-bit words. */
  current: string;
  previous: string;
}

/**
 * Distinct keys seen by any of several counters (the same key seen by two workers counts once):
 * the bitmaps are OR-ed window by window, then counted as one. A sketch taken one window
 * earlier than the newest (a boundary crossed between two workers' answers) has its current
 * window counted as the previous one; older sketches and other sizes are left out.
 */
export function estimateUnion(sketches: readonly DistinctSketch[]): number {
  if (sketches.length === 0) return 0;
  const bits = sketches[0]!.bits;
  const newest = Math.max(...sketches.filter((s) => s.bits === bits).map((s) => s.window));
  const current = new Uint32Array(bits / 32);
  const previous = new Uint32Array(bits / 32);
  const or = (into: Uint32Array, base64: string) => {
    const b = Buffer.from(base64, 'base64');
    if (b.length !== into.byteLength) return;
    const words = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < into.length; i++) into[i]! |= words[i]!;
  };
  for (const s of sketches) {
    if (s.bits !== bits) continue;
    if (s.window === newest) {
      or(current, s.current);
      or(previous, s.previous);
    } else if (s.window === newest - 1) or(previous, s.current);
  }
  return Math.max(linearCount(bits, popcount(previous)), linearCount(bits, popcount(current)));
}

function popcount(words: Uint32Array): number {
  let n = 0;
  for (let w of words) {
    w -= (w >>> 1) & 0x55555555;
    w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
    n += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}

/** Linear counting: distinct keys from the bits set in a bitmap of `bits`. */
function linearCount(bits: number, set: number): number {
  if (set === 0) return 0;
  const zeros = bits - set;
  if (zeros === 0) return Math.round(bits * Math.log(bits));
  return Math.round(-bits * Math.log(zeros / bits));
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
