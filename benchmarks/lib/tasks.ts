/**
 * Helpers shared by the server suites (redis, etcd): lazily built clients and objects, and the
 * shapes of task they all use.
 */
import type { BenchmarkTask, TaskKind } from '../harness.ts';

/**
 * A value built on first use: suites define their objects at load time, but the servers they
 * talk to only exist once `setup` has run.
 * @param make - builds the value
 * @returns a getter that builds once and then returns the same value
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A task that performs `count` operations one after another per call.
 * @param group - its group
 * @param kind - floor, ours or peer
 * @param name - unique within the group
 * @param count - operations per call (the batch)
 * @param once - one operation
 * @returns the task
 */
export function sequentialTask(
  group: string,
  kind: TaskKind,
  name: string,
  count: number,
  once: () => Promise<unknown>,
): BenchmarkTask {
  return {
    group,
    kind,
    name,
    batch: count,
    fn: async () => {
      for (let i = 0; i < count; i++) await once();
    },
  };
}

/**
 * A task that starts `count` operations at once per call and waits for all of them.
 * @param group - its group
 * @param kind - floor, ours or peer
 * @param name - unique within the group
 * @param count - operations per call (the batch)
 * @param each - operation number `index`
 * @returns the task
 */
export function concurrentTask(
  group: string,
  kind: TaskKind,
  name: string,
  count: number,
  each: (index: number) => Promise<unknown>,
): BenchmarkTask {
  return {
    group,
    kind,
    name,
    batch: count,
    async: true,
    fn: () => Promise.all(Array.from({ length: count }, (_, index) => each(index))),
  };
}

/**
 * A 1 ms busy wait, as a visual reference row in latency groups.
 * @param group - its group
 * @returns the floor task '1 ms reference (busy wait)'
 */
export function busyWaitReference(group: string): BenchmarkTask {
  return {
    group,
    kind: 'floor',
    name: '1 ms reference (busy wait)',
    fn: () => {
      const start = performance.now();
      while (performance.now() - start < 1);
    },
  };
}
