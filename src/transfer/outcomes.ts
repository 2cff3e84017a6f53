/**
 * The one counter model: what happened to keys. A batch's tally, a table's run counters, the
 * shared Redis counters of distributed mode, the summary, `--json` and the dashboard all
 * count these fields, defined here once.
 */
export const OUTCOME_FIELDS = ['copied', 'skipped', 'missing', 'failed', 'bytes'] as const;
export type OutcomeField = (typeof OUTCOME_FIELDS)[number];
/** Keys copied, skipped (already right), missing at the source, failed; bytes copied. */
export type Outcomes = Record<OutcomeField, number>;

export function emptyOutcomes(): Outcomes {
  return { copied: 0, skipped: 0, missing: 0, failed: 0, bytes: 0 };
}

/** Adds `part` into `total` (field by field). */
export function addOutcomes(total: Outcomes, part: Readonly<Outcomes>): void {
  for (const field of OUTCOME_FIELDS) total[field] += part[field];
}

/** Just the outcome fields of a larger record. */
export function outcomesOf(source: Readonly<Outcomes>): Outcomes {
  const out = emptyOutcomes();
  addOutcomes(out, source);
  return out;
}

/** One key's outcome, as counters (what a tally and the run's stats both add). */
export function outcomeOf(status: 'copied' | 'skipped' | 'missing' | 'failed', bytes = 0): Outcomes {
  const out = emptyOutcomes();
  out[status] = 1;
  out.bytes = status === 'copied' ? bytes : 0;
  return out;
}
