import { Worker } from 'node:worker_threads';
import { ByteChannel, ThreadRegistry } from '@cf/atomics';
import { SharedMutex } from '@cf/locks';

const WORKERS = 3;
const INCREMENTS = 100_000;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`shared-memory demo: ${message}`);
}

/**
 * A worker pool sharing one SharedMutex-protected counter: each worker increments it with plain
 * reads and writes under the lock and reports progress over its own ByteChannel; then a worker
 * that dies holding the (robust) mutex is recovered and the next lease says so. Throws if the
 * total is off, a message is lost or out of order, or the recovery is not reported.
 */
export async function runSharedDemo(): Promise<void> {
  console.log('== shared memory: @cf/atomics + SharedMutex across worker_threads');
  const registry = new ThreadRegistry({ slots: 8 });
  const mutex = new SharedMutex({ name: 'demo-counter', registry });
  const counter = { buffer: new SharedArrayBuffer(4), byteOffset: 0 };
  const cell = new Int32Array(counter.buffer);
  const url = new URL('./workers/shared-worker.mjs', import.meta.url);

  const channels = Array.from({ length: WORKERS }, () => new ByteChannel(4096));
  const exited = channels.map((channel, id) => {
    const slot = registry.reserve();
    const worker = new Worker(url, {
      workerData: {
        id,
        role: 'count',
        registry: registry.handle,
        slot,
        mutex: mutex.handle,
        counter,
        channel: channel.handle,
        increments: INCREMENTS,
      },
    });
    registry.watch(worker, slot);
    return new Promise((resolve) => worker.once('exit', resolve));
  });
  const decoder = new TextDecoder();
  const reports = await Promise.all(
    channels.map(async (channel) => {
      const lines: string[] = [];
      for await (const message of channel) lines.push(decoder.decode(message));
      return lines;
    }),
  );
  await Promise.all(exited);
  for (const [id, lines] of reports.entries()) {
    check(lines.length === 5, `worker ${id} sent ${lines.length} messages, expected 5`);
    check(lines[3] === `worker ${id}: ${INCREMENTS} increments`, `worker ${id}'s messages arrived out of order`);
    console.log(`  ${lines[4]}`);
  }
  const total = cell[0];
  check(total === WORKERS * INCREMENTS, `counter is ${total}, expected ${WORKERS * INCREMENTS} (a lost update)`);
  console.log(`  counter = ${total} after ${WORKERS} x ${INCREMENTS} unsynchronised increments under the mutex`);

  // Robustness: a worker terminated while holding the mutex does not hang everyone else.
  const slot = registry.reserve();
  const crashing = new Worker(url, {
    workerData: { id: WORKERS, role: 'crash', registry: registry.handle, slot, mutex: mutex.handle, counter },
  });
  registry.watch(crashing, slot);
  await new Promise((resolve) => crashing.once('message', resolve));
  const waiting = mutex.acquire({ timeout: 5_000 });
  await crashing.terminate();
  const lease = await waiting;
  try {
    check(lease.ownerDied, 'the lease after a dead holder did not report ownerDied');
    console.log(
      `  a worker terminated while holding the mutex; next lease: ownerDied=${lease.ownerDied}, token ${lease.token}`,
    );
  } finally {
    await lease.release();
  }
}
