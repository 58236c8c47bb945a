// Worker side of the SharedMutex scenarios in shared-mutex.workers.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { ThreadRegistry } from '@cf/atomics';
import { SharedMutex } from '@cf/locks';

const { scenario, mutex: handle, registry, slot, counter, stop, timeout } = workerData;
if (registry !== undefined) ThreadRegistry.from(registry).enter(slot);
const mutex = SharedMutex.from(handle);
const cell = counter === undefined ? undefined : new Int32Array(counter.buffer, counter.byteOffset, 1);
const stopFlag = stop === undefined ? undefined : new Int32Array(stop.buffer, stop.byteOffset, 1);

switch (scenario) {
  case 'hold-then-hang': {
    mutex.lockSync();
    cell[0] = -1; // a half-done update the next holder must repair
    parentPort.postMessage({ locked: true, token: mutex.token });
    for (;;) {} // until terminated
  }
  case 'hold-then-exit': {
    mutex.lockSync();
    parentPort.postMessage({ locked: true, token: mutex.token });
    break; // returns without unlocking: the thread ends holding the mutex
  }
  case 'async-acquire': {
    // Nothing else keeps this thread alive: only the pending acquire() does.
    const pending = mutex.acquire();
    parentPort.postMessage({ waiting: true });
    const lease = await pending;
    parentPort.postMessage({ acquired: true, token: lease.token, ownerDied: lease.ownerDied });
    await lease.release();
    break;
  }
  case 'bare-wait-async': {
    // The pitfall this package avoids: a bare Atomics.waitAsync does not keep the thread alive.
    const words = new Int32Array(handle.buffer, handle.byteOffset, 1);
    const result = Atomics.waitAsync(words, 0, Atomics.load(words, 0));
    parentPort.postMessage({ waiting: true });
    await result.value;
    parentPort.postMessage({ acquired: true });
    break;
  }
  case 'blocking-acquire': {
    const lease = mutex.acquireSync();
    parentPort.postMessage({ acquired: true, token: lease.token, ownerDied: lease.ownerDied, value: cell?.[0] });
    await lease.release();
    break;
  }
  case 'hammer': {
    let count = 0;
    parentPort.postMessage({ started: true });
    while (Atomics.load(stopFlag, 0) === 0) {
      for (let i = 0; i < 1000; i++) {
        mutex.lockSync();
        cell[0] = cell[0] + 1;
        mutex.unlock();
      }
      count += 1000;
    }
    parentPort.postMessage({ count });
    break;
  }
  case 'lock-with-timeout': {
    const started = performance.now();
    const locked = mutex.lockSync(timeout);
    parentPort.postMessage({ locked, elapsed: performance.now() - started });
    if (locked) mutex.unlock();
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
