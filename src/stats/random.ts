// The one seeded random source: the offline proposers (same seed and context, same proposal) and the
// simulations (bench/acceptance.ts, the statistics tests) draw from it, so a run replays on any machine.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** A draw from Beta(alpha, beta), alpha and beta > 0. */
  beta(alpha: number, beta: number): number;
  /** Student t with an integer `degreesOfFreedom` > 2, scaled to unit variance: heavy-tailed noise. */
  heavyTailed(degreesOfFreedom: number): number;
}

/** 32-bit FNV-1a hash of a string, for deriving seeds from context. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function createRandom(seed: number): Random {
  // mulberry32: tiny, fast, and well mixed.
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    // Box-Muller; 1 - next() keeps the logarithm's argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    return radius * Math.cos(2 * Math.PI * next());
  };
  const gamma = (shape: number): number => {
    // Marsaglia-Tsang; shapes below 1 are boosted and scaled back.
    if (shape < 1) return gamma(shape + 1) * Math.pow(1 - next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = normal();
      const v = Math.pow(1 + c * x, 3);
      if (v <= 0) continue;
      const u = 1 - next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  const beta = (alpha: number, betaParam: number): number => {
    const x = gamma(alpha);
    const y = gamma(betaParam);
    return x / (x + y);
  };
  const heavyTailed = (degreesOfFreedom: number): number => {
    if (!(Number.isInteger(degreesOfFreedom) && degreesOfFreedom > 2)) {
      throw new RangeError(`heavy-tailed noise needs integer degrees of freedom > 2, for a finite variance (got ${degreesOfFreedom})`);
    }
    // t = Z / √(χ²_ν / ν), χ²_ν as a sum of ν squared normals; its variance ν/(ν − 2) is divided out.
    let chiSquare = 0;
    for (let index = 0; index < degreesOfFreedom; index += 1) chiSquare += normal() ** 2;
    return normal() / Math.sqrt(chiSquare / degreesOfFreedom) / Math.sqrt(degreesOfFreedom / (degreesOfFreedom - 2));
  };
  return { next, normal, beta, heavyTailed };
}
