/**
 * A small seeded pseudo-random generator (mulberry32) for fixtures and tests: the same seed gives
 * the same sequence on every machine, which `Math.random` cannot.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  gaussian(): number;
  pick<T>(values: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    gaussian: () => {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick: (values) => {
      if (values.length === 0) throw new RangeError('pick from an empty list');
      return values[Math.floor(next() * values.length)]!;
    },
  };
}

/** A Float32Array of independent standard normal values. */
export function gaussianVector(random: Random, dimension: number, scale = 1): Float32Array {
  const out = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) out[i] = random.gaussian() * scale;
  return out;
}
