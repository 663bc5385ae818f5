/**
 * Seeded pseudo-random numbers for the synthetic sample generator.
 *
 * Every clip draws from its own stream, derived from the run seed and the clip's
 * identity (head, label, index), so the output does not depend on the order in which
 * clips are generated (the generator runs tool calls in parallel).
 */

/**
 * Hashes any number of strings or numbers to a 32-bit unsigned integer (FNV-1a over
 * the UTF-16 code units, then a murmur3 finaliser to spread the bits).
 */
export function hashSeed(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = `${String(part)}\u0000`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A small, fast, seedable generator (sfc32, Chris Doty-Humphrey's "small fast
 * chaotic" PRNG from PractRand) with helpers for the distributions the generator needs.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareGaussian: number | null = null;

  /** Creates a stream from a 32-bit seed; equal seeds give equal streams. */
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Discard the first outputs: sfc32 needs a few rounds to mix a small seed.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Creates an independent stream for a named sub-task of this clip. */
  fork(...parts: Array<string | number>): Rng {
    return new Rng(hashSeed(this.nextUint32(), ...parts));
  }

  /** Returns the next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Returns a uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Returns a uniform number in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Returns a uniform integer in [lo, hi] (both ends included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Returns true with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Returns one element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: the list to pick from is empty.');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Returns a standard normal variate (Marsaglia's polar method). */
  gaussian(): number {
    if (this.spareGaussian !== null) {
      const s = this.spareGaussian;
      this.spareGaussian = null;
      return s;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareGaussian = v * m;
    return u * m;
  }

  /** Returns a normal variate with the given mean and standard deviation. */
  normal(mean: number, std: number): number {
    return mean + std * this.gaussian();
  }
}
