// Increments a plain counter under SharedSemaphore(1) used as a lock; reports when done.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedSemaphore } from '@cf/sync';

const { handle, counter, iterations } = workerData;
const semaphore = SharedSemaphore.from(handle);
const cell = new Int32Array(counter.buffer, counter.byteOffset, 1);
const start = performance.now();
for (let i = 0; i < iterations; i++) {
  semaphore.acquirePermitsSync(1);
  cell[0] = cell[0] + 1;
  semaphore.releasePermits(1);
}
parentPort.postMessage({ elapsed: performance.now() - start });
