// "Did you mean": the known word nearest to a mistyped one, by edit distance (a swap of two
// neighbouring letters counts as one edit, the commonest typo).

/** The optimal-string-alignment distance between two words. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known word closest to `word`, or null when none is close enough to be a typo of it: at most
 * one edit for short words, two from six letters, three from ten; a unique known word that starts
 * with what was typed also counts (`--max` for `--max-hours` is ambiguous, `--dash` is not).
 */
export function closest(word: string, known: readonly string[]): string | null {
  const typed = word.toLowerCase();
  const allowed = typed.length < 6 ? 1 : typed.length < 10 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== null && bestDistance <= allowed && bestDistance < typed.length) return best;
  const prefixed = typed.length >= 3 ? known.filter((candidate) => candidate.toLowerCase().startsWith(typed)) : [];
  return prefixed.length === 1 ? prefixed[0]! : null;
}
