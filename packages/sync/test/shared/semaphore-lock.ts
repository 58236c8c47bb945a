import type { SharedConditionLock } from '../../src/shared/shared-condition.js';
import type { SharedSemaphore } from '../../src/shared/shared-semaphore.js';

/** A `SharedSemaphore` of one permit as the lock of a `SharedCondition` (async and blocking forms). */
export function semaphoreLock(semaphore: SharedSemaphore): SharedConditionLock {
  return {
    acquire: (options) => semaphore.acquire(1, options),
    tryAcquire: () => semaphore.tryAcquire(1),
    lockSync: (timeout) => semaphore.acquirePermitsSync(1, timeout),
    unlock: () => semaphore.releasePermits(1),
  };
}
