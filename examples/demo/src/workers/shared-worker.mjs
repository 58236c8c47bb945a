// Worker side of shared.ts: increments a counter under a SharedMutex and reports over its own
// ByteChannel (a single-producer single-consumer ring of byte messages).
import { parentPort, workerData } from 'node:worker_threads';
import { ByteChannel, ThreadRegistry } from '@cf/atomics';
import { SharedMutex } from '@cf/locks';

const { id, role, registry, slot, mutex: mutexHandle, counter, channel: channelHandle, increments } = workerData;
ThreadRegistry.from(registry).enter(slot);
const mutex = SharedMutex.from(mutexHandle);
const cell = new Int32Array(counter.buffer, counter.byteOffset, 1);

if (role === 'crash') {
  // Takes the lock and never gives it back: the parent terminates this thread while it holds it.
  mutex.lockSync();
  parentPort.postMessage('holding');
  for (;;) {}
}

const channel = ByteChannel.from(channelHandle);
const encoder = new TextEncoder();
let firstToken = 0n;
let lastToken = 0n;
for (let i = 0; i < increments; i++) {
  mutex.lockSync();
  try {
    cell[0] = cell[0] + 1; // a plain read-modify-write: only the lock makes it safe
    if (i === 0 || i === increments - 1) {
      if (i === 0) firstToken = mutex.token;
      else lastToken = mutex.token;
    }
  } finally {
    mutex.unlock();
  }
  if ((i + 1) % (increments / 4) === 0) channel.sendSync(encoder.encode(`worker ${id}: ${i + 1} increments`));
}
channel.sendSync(
  encoder.encode(`worker ${id}: done; its first and last holds got fencing tokens ${firstToken} and ${lastToken}`),
);
channel.close();
