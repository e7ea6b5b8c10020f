// Seeded randomness for tests that simulate noisy metrics: same seed, same numbers.

/** mulberry32: a tiny, well-mixed 32-bit PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a seeded uniform source. */
export function seededGaussian(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => {
    const u = 1 - uniform(); // (0, 1]: log(0) would be -Infinity
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}
