// Worker side of the scenarios in shared-primitives.workers.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import {
  SharedAutoResetEvent,
  SharedBarrier,
  SharedCondition,
  SharedCountDownLatch,
  SharedManualResetEvent,
  SharedSemaphore,
} from '@cf/sync';

const { scenario } = workerData;

function semaphoreLock(semaphore) {
  return {
    acquire: (options) => semaphore.acquire(1, options),
    tryAcquire: () => semaphore.tryAcquire(1),
    lockSync: (timeout) => semaphore.acquirePermitsSync(1, timeout),
    unlock: () => semaphore.releasePermits(1),
  };
}

switch (scenario) {
  case 'latch-count-down': {
    SharedCountDownLatch.from(workerData.latch).countDown();
    break;
  }
  case 'latch-wait-async': {
    // Only the pending wait keeps this thread alive.
    const opened = SharedCountDownLatch.from(workerData.latch).wait();
    parentPort.postMessage({ waiting: true });
    await opened;
    parentPort.postMessage({ passed: true });
    break;
  }
  case 'barrier-rounds': {
    const barrier = SharedBarrier.from(workerData.barrier);
    const cells = new Int32Array(workerData.cells.buffer, workerData.cells.byteOffset, workerData.parties);
    const seen = [];
    for (let round = 1; round <= workerData.rounds; round++) {
      Atomics.store(cells, workerData.index, round);
      barrier.waitSync();
      // Every party wrote this round before anyone passed.
      seen.push(Math.min(...Array.from(cells, (_, i) => Atomics.load(cells, i))) >= round);
      barrier.waitSync();
    }
    parentPort.postMessage({ ok: seen.every(Boolean) });
    break;
  }
  case 'barrier-timeout': {
    const barrier = SharedBarrier.from(workerData.barrier);
    try {
      barrier.waitSync(workerData.timeout);
      parentPort.postMessage({ outcome: 'passed' });
    } catch (error) {
      parentPort.postMessage({ outcome: error.name });
    }
    break;
  }
  case 'condition-consumer': {
    // A SharedSemaphore(1) as the condition's lock (@cf/sync does not depend on @cf/locks; a
    // SharedMutex has the same lockSync/unlock/acquire shape).
    const mutex = semaphoreLock(SharedSemaphore.from(workerData.mutex));
    const condition = SharedCondition.from(workerData.condition, mutex);
    const queue = new Int32Array(workerData.queue.buffer, workerData.queue.byteOffset, 2); // [available, taken]
    let taken = 0;
    for (;;) {
      mutex.lockSync();
      while (queue[0] === 0) condition.waitSync();
      const available = queue[0];
      if (available < 0) {
        mutex.unlock();
        break;
      }
      queue[0] = available - 1;
      queue[1] = queue[1] + 1;
      taken++;
      mutex.unlock();
    }
    parentPort.postMessage({ taken });
    break;
  }
  case 'auto-event-consumer': {
    const event = SharedAutoResetEvent.from(workerData.event);
    const done = SharedManualResetEvent.from(workerData.done);
    const count = new Int32Array(workerData.count.buffer, workerData.count.byteOffset, 1);
    let passes = 0;
    while (!done.isSet) {
      if (event.waitSync(20)) {
        passes++;
        Atomics.add(count, 0, 1);
      }
    }
    parentPort.postMessage({ passes });
    break;
  }
  case 'semaphore-wait-async': {
    const semaphore = SharedSemaphore.from(workerData.semaphore);
    const pending = semaphore.acquire(2);
    parentPort.postMessage({ waiting: true });
    const lease = await pending;
    parentPort.postMessage({ acquired: true, permits: lease.permits, token: lease.token });
    await lease.release();
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
