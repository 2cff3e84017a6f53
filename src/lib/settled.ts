/**
 * Independent start-up steps run at once (store checks, the database connection), with the
 * error a sequential start would have given: when several fail, the first in the list wins,
 * not the first to fail in time — so a wrong bucket is reported the same way however fast
 * the database answers.
 */
export async function allInOrder<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const outcomes = await Promise.allSettled(steps);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
