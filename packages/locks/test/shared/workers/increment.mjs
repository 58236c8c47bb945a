// Increments a plain (non-atomic) counter in shared memory under a shared lock, as many times as
// asked, then reports. A lost update shows up as a total below workers * iterations.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedMutex, SharedReadWriteLock } from '@cf/locks';

const { kind, handle, counter, iterations } = workerData;
const cell = new Int32Array(counter.buffer, counter.byteOffset, 1);

let lock;
let unlock;
if (kind === 'mutex') {
  const mutex = SharedMutex.from(handle);
  lock = () => mutex.lockSync();
  unlock = () => mutex.unlock();
} else if (kind === 'write') {
  const rw = SharedReadWriteLock.from(handle);
  lock = () => rw.write.lockSync();
  unlock = () => rw.write.unlock();
} else {
  throw new Error(`unknown kind ${kind}`);
}

const start = performance.now();
for (let i = 0; i < iterations; i++) {
  lock();
  cell[0] = cell[0] + 1;
  unlock();
}
parentPort.postMessage({ elapsed: performance.now() - start });
