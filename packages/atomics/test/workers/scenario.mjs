// Worker side of the scenarios in workers.test.ts; imports the BUILT @cf/atomics.
import { parentPort, workerData } from 'node:worker_threads';
import { AtomicInt32, ByteChannel, MpmcQueue, SpscQueue, StripedCounter, TreiberStack } from '@cf/atomics';
import { messageFor } from './scenario-data.mjs';

const { scenario } = workerData;
const seenArray = () => new Uint8Array(workerData.seen.buffer, workerData.seen.byteOffset, workerData.seen.length);

switch (scenario) {
  case 'mpmc-produce': {
    const queue = MpmcQueue.from(workerData.queue);
    const { start, count, bulk } = workerData;
    if (bulk) {
      // Runs of varying length, claimed with one compare-and-swap each, racing single pushes.
      const chunk = new Uint32Array(61);
      for (let next = start; next < start + count; ) {
        const n = Math.min(1 + (next % chunk.length), start + count - next);
        for (let i = 0; i < n; i++) chunk[i] = next + i;
        next += queue.pushManySync(chunk, 0, n);
      }
    } else {
      for (let value = start; value < start + count; value++) queue.pushSync(value);
    }
    parentPort.postMessage({ pushed: count });
    break;
  }
  case 'mpmc-consume': {
    const queue = MpmcQueue.from(workerData.queue);
    const seen = seenArray();
    const batch = new Uint32Array(256);
    let count = 0;
    let sum = 0;
    for (;;) {
      let n;
      try {
        n = queue.popManySync(batch);
      } catch (error) {
        if (error.code === 'ERR_CF_CLOSED') break;
        throw error;
      }
      for (let i = 0; i < n; i++) {
        Atomics.add(seen, batch[i], 1);
        sum += batch[i];
      }
      count += n;
    }
    parentPort.postMessage({ count, sum });
    break;
  }
  case 'spsc-produce': {
    const queue = SpscQueue.from(workerData.queue);
    const { count } = workerData;
    const chunk = new Int32Array(37);
    let next = 0;
    while (next < count) {
      if (next % 3 === 0) {
        queue.pushSync(next++);
      } else {
        const n = Math.min(chunk.length, count - next);
        for (let i = 0; i < n; i++) chunk[i] = next + i;
        next += queue.pushManySync(chunk, 0, n);
      }
    }
    queue.close();
    parentPort.postMessage({ pushed: next });
    break;
  }
  case 'spsc-fill-blocking': {
    // Fills the ring and pushes one more (blocking), then blocks again until a close ends it.
    const queue = SpscQueue.from(workerData.queue);
    for (let i = 0; i <= queue.capacity; i++) queue.pushSync(i);
    parentPort.postMessage({ pushed: queue.capacity + 1 });
    try {
      queue.pushSync(-1);
      parentPort.postMessage({ closed: false });
    } catch (error) {
      parentPort.postMessage({ closed: error.code === 'ERR_CF_CLOSED' });
    }
    break;
  }
  case 'spsc-push': {
    // Pushes 0..count-1, sleeping `pauseMs` after every `pauseEvery` elements (so the consumer
    // runs dry and goes to sleep again and again).
    const queue = SpscQueue.from(workerData.queue);
    const { count, pauseEvery, pauseMs } = workerData;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      queue.pushSync(i);
      if (pauseEvery > 0 && i % pauseEvery === pauseEvery - 1) Atomics.wait(nap, 0, 0, pauseMs);
    }
    parentPort.postMessage({ pushed: count });
    break;
  }
  case 'spsc-pop': {
    // Pops `count` elements, sleeping like spsc-push (so the producer finds the ring full).
    const queue = SpscQueue.from(workerData.queue);
    const { count, pauseEvery, pauseMs } = workerData;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let inOrder = true;
    for (let i = 0; i < count; i++) {
      if (queue.popSync() !== i) inOrder = false;
      if (pauseEvery > 0 && i % pauseEvery === pauseEvery - 1) Atomics.wait(nap, 0, 0, pauseMs);
    }
    parentPort.postMessage({ count, inOrder });
    break;
  }
  case 'spsc-consume-async': {
    const queue = SpscQueue.from(workerData.queue);
    let expected = 0;
    let inOrder = true;
    for await (const value of queue) {
      if (value !== expected) inOrder = false;
      expected++;
    }
    parentPort.postMessage({ count: expected, inOrder });
    break;
  }
  case 'channel-produce': {
    // Sends messageFor(0..count-1), sleeping `pauseMs` after every `pauseEvery` messages if asked.
    const channel = ByteChannel.from(workerData.channel);
    const { count, pauseEvery = 0, pauseMs = 0 } = workerData;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      channel.sendSync(messageFor(i));
      if (pauseEvery > 0 && i % pauseEvery === pauseEvery - 1) Atomics.wait(nap, 0, 0, pauseMs);
    }
    channel.close();
    parentPort.postMessage({ sent: count });
    break;
  }
  case 'channel-consume': {
    // Receives until closed with receiveSync, pausing like channel-produce, and checks each message.
    const channel = ByteChannel.from(workerData.channel);
    const { pauseEvery, pauseMs } = workerData;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let count = 0;
    let intact = true;
    for (;;) {
      let message;
      try {
        message = channel.receiveSync();
      } catch (error) {
        if (error.code === 'ERR_CF_CLOSED') break;
        throw error;
      }
      const expected = messageFor(count);
      if (message.length !== expected.length || message.some((byte, i) => byte !== expected[i])) intact = false;
      count++;
      if (pauseEvery > 0 && count % pauseEvery === 0) Atomics.wait(nap, 0, 0, pauseMs);
    }
    parentPort.postMessage({ count, intact });
    break;
  }
  case 'stack-churn': {
    const stack = TreiberStack.from(workerData.stack);
    const seen = seenArray();
    const { start, count } = workerData;
    let popped = 0;
    for (let value = start; value < start + count; value++) {
      stack.pushSync(value);
      const taken = stack.tryPop();
      if (taken !== undefined) {
        Atomics.add(seen, taken, 1);
        popped++;
      }
    }
    parentPort.postMessage({ popped });
    break;
  }
  case 'striped-increment': {
    const counter = StripedCounter.from(workerData.counter);
    for (let i = 0; i < workerData.count; i++) counter.increment();
    parentPort.postMessage({ done: true });
    break;
  }
  case 'atomic-increment': {
    const atomic = AtomicInt32.from(workerData.atomic);
    for (let i = 0; i < workerData.count; i++) atomic.increment();
    parentPort.postMessage({ done: true });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
