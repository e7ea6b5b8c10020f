// A seeded random source for simulations (the acceptance benchmark, the statistics tests): the same
// seed gives the same draws on every machine, so an error rate measured on a stream is reproducible.

export interface Random {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Student t with an integer `degreesOfFreedom` > 2 (heavy-tailed noise), scaled to unit variance. */
  heavyTailed(degreesOfFreedom: number): number;
}

/** mulberry32 for the uniforms, Box–Muller for the normals. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  let spare: number | null = null;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    let u = uniform();
    while (u === 0) u = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  const heavyTailed = (degreesOfFreedom: number): number => {
    if (!(Number.isInteger(degreesOfFreedom) && degreesOfFreedom > 2)) {
      throw new RangeError(`heavy-tailed noise needs integer degrees of freedom > 2, for a finite variance (got ${degreesOfFreedom})`);
    }
    // t = Z / √(χ²_ν / ν), χ²_ν as a sum of ν squared normals; its variance ν/(ν − 2) is divided out.
    let chiSquare = 0;
    for (let index = 0; index < degreesOfFreedom; index += 1) chiSquare += normal() ** 2;
    const t = normal() / Math.sqrt(chiSquare / degreesOfFreedom);
    return t / Math.sqrt(degreesOfFreedom / (degreesOfFreedom - 2));
  };
  return { uniform, normal, heavyTailed };
}
