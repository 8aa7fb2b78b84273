/**
 * Maps a key to a stable point in [0, 1): FNV-1a over the UTF-16 code units, then murmur3's
 * finaliser so that similar keys (`user-1`, `user-2`) spread over the whole range. Pure and the
 * same on every hub, so a user lands on the same side of a split whichever hub serves them.
 */
export function stickyPoint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** The index whose share of `weights` contains `point` (weights are non-negative, sum > 0). */
export function pickWeighted(weights: readonly number[], point: number): number {
  let total = 0;
  for (const w of weights) total += w;
  let edge = 0;
  const at = point * total;
  for (const [i, w] of weights.entries()) {
    edge += w;
    if (at < edge) return i;
  }
  // point * total can round up to total; the last side with weight takes it.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
  return weights.length - 1;
}
