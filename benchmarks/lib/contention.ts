/**
 * The contended shape shared by the in-process suites (locks, sync): `CONTENDED_TASKS` async
 * tasks each run `CONTENDED_ROUNDS` cycles of acquire, `await null`, release. Each task's loop
 * stays written out in its suite, one per library, so every hot loop has a single call target.
 */

/** Tasks contending for one primitive. */
export const CONTENDED_TASKS = 100;
/** Cycles each task runs per sample. */
export const CONTENDED_ROUNDS = 20;
/** Cycles per sample, the batch of a contended task. */
export const CONTENDED_CYCLES: number = CONTENDED_TASKS * CONTENDED_ROUNDS;

/**
 * Runs `CONTENDED_TASKS` workers at once; resolves when all are done.
 * @param worker - one task's loop; receives its index
 * @returns resolves when every worker has finished
 */
export function contend(worker: (task: number) => Promise<void>): Promise<unknown> {
  const running: Promise<void>[] = new Array(CONTENDED_TASKS);
  for (let task = 0; task < CONTENDED_TASKS; task++) running[task] = worker(task);
  return Promise.all(running);
}
