/**
 * A small seeded pseudo-random generator, so compression results (random sketches,
 * K-SVD initial dictionaries) are reproducible run after run and across Node and browsers.
 */

/** A function returning uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32, a 32-bit-state generator by Tommy Ettinger (public domain, 2017): fast,
 * passes PractRand to 2^32 outputs, ample for random sketches. Not cryptographic.
 */
export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One standard normal sample by the Box–Muller transform (Box & Muller, 1958). */
export function gaussian(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A Float64Array of `length` standard normal samples. */
export function gaussianArray(rng: Rng, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = gaussian(rng);
  return out;
}
