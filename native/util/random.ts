// Deterministic seeded PRNG (mulberry32): same seed → same numbers on every platform, for reproducible LoRA init.
/** The largest seed: mulberry32 keeps 32 bits, so 2^32 would be seed 0 again (numpy refuses seeds ≥ 2^32 too). */
export const MAX_SEED = 0xffff_ffff;

/** Returns a function yielding uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
