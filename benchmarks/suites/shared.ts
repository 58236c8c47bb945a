/**
 * Shared memory across worker_threads (issue 4): @cf/atomics and the Shared* locks against the
 * raw Atomics operations, a minimal hand-written futex mutex, postMessage and ringbuf.js, all in
 * one process run.
 *
 * - uncontended lock+unlock on the main thread: `SharedMutex.lockSync()` + `unlock()` next to a
 *   bare `Atomics.compareExchange` + `Atomics.store` pair;
 * - contended: CF_BENCH_THREADS workers (default 2) each take and release one lock around a
 *   non-atomic increment, SharedMutex against a minimal futex mutex (Drepper's "mutex 2");
 * - counters: the same workers increment one contended AtomicInt32, a StripedCounter (one cell
 *   each), and, as the floor, raw Atomics.add on their own cache lines;
 * - SPSC: one worker sends numbers to the main thread through postMessage, a hand-written ring
 *   (the floor), ringbuf.js and SpscQueue (one element per call, and runs of 64);
 * - byte messages: one worker sends 32-byte Uint8Arrays through postMessage and ByteChannel;
 * - MPMC: CF_BENCH_THREADS producers and as many consumers move numbers through one MpmcQueue.
 *
 * Worker tasks are timed from the main thread: it starts a round through a shared command word
 * and waits until every participant reports done, so one sample is `batch` operations plus one
 * round trip (tens of microseconds against tens of milliseconds of work).
 */
import { Worker } from 'node:worker_threads';
import { AtomicInt32, ByteChannel, MpmcQueue, SpscQueue, StripedCounter } from '@cf/atomics';
import { SharedMutex } from '@cf/locks';
import { RingBuffer } from 'ringbuf.js';
import { type BenchmarkTask, defineSuite } from '../harness.ts';

const THREADS = Math.max(1, Number(process.env.CF_BENCH_THREADS ?? 2) | 0);
const UNCONTENDED = 'uncontended lock+unlock (main thread)';
const CONTENDED = `lock+unlock, ${THREADS} workers contending`;
const COUNTERS = `counter increments, ${THREADS} workers`;
const SPSC = 'worker -> main thread, one element per call';
const SPSC_BULK = 'worker -> main thread, runs of 64 elements';
const MPMC = `MpmcQueue, ${THREADS} producers x ${THREADS} consumers`;
const BYTES = 'worker -> main thread, 32-byte messages';
const MESSAGE_BYTES = 32;

const BATCH = 10_000;
const ROUND = 200_000; // operations per worker round
const MESSAGES = 100_000;
const RUN = 64;

// Commands of the worker pool: which routine a round runs.
const Command = {
  stop: 0,
  futexMutex: 1,
  sharedMutex: 2,
  atomicAdd: 3,
  striped: 4,
  separateLines: 5,
  post: 6,
  spsc: 7,
  spscBulk: 8,
  ringbuf: 9,
  ringbufBulk: 10,
  mpmc: 11,
  spscBlocking: 12,
  handRing: 13,
  postBytes: 14,
  channel: 15,
} as const;

// The hand-written SPSC ring of the floor: the consumer's index on its own line (Int32 16), the
// producer's on another (Int32 32), then the slots. Each side caches the other's index and reads
// it only when that copy says empty or full, as SpscQueue does, with no checks, waiting or
// closing: the cheapest correct one-element-per-call ring. Like SpscQueue's waiting forms it
// pauses before re-reading the other side's index (re-reading at once steals that cache line
// from the thread writing it, for every element).
const HAND_SLOTS = 1024;
const HAND_HEAD = 16;
const HAND_TAIL = 32;
const HAND_DATA = 192;
const HAND_PAUSE = 256; // iterations of the same register-only add loop as SpscQueue's pause

// The pool's worker, as a script (workers cannot run TypeScript without a loader): it waits for
// a round on the command word, runs it and counts itself done.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { AtomicInt32, ByteChannel, MpmcQueue, SpscQueue, StripedCounter } = await import(workerData.urls.atomics);
  const { SharedMutex } = await import(workerData.urls.locks);
  const { RingBuffer } = await import(workerData.urls.ringbuf);
  const { index, threads, objects } = workerData;
  const control = new Int32Array(objects.control);
  const futex = new Int32Array(objects.futex);
  const counter = new Int32Array(objects.counter);
  const lines = new Int32Array(objects.lines);
  const mutex = SharedMutex.from(objects.mutex);
  const atomic = AtomicInt32.from(objects.atomic);
  const striped = StripedCounter.from(objects.striped);
  const spsc = SpscQueue.from(objects.spsc);
  const ring = new RingBuffer(objects.ringbuf, Int32Array);
  const mpmc = MpmcQueue.from(objects.mpmc);
  const channel = ByteChannel.from(objects.channel);
  const message = new Uint8Array(${MESSAGE_BYTES});
  const one = new Int32Array(1);
  const run = new Int32Array(${RUN});
  const handControl = new Int32Array(objects.handRing, 0, ${HAND_DATA / 4});
  const handData = new Int32Array(objects.handRing, ${HAND_DATA}, ${HAND_SLOTS});
  let handTail = 0;
  let handCachedHead = 0;
  let handSpin = 0;
  const lock = () => {
    let c = Atomics.compareExchange(futex, 0, 0, 1);
    if (c !== 0) {
      if (c !== 2) c = Atomics.exchange(futex, 0, 2);
      while (c !== 0) {
        Atomics.wait(futex, 0, 2);
        c = Atomics.exchange(futex, 0, 2);
      }
    }
  };
  const unlock = () => {
    if (Atomics.sub(futex, 0, 1) !== 1) {
      Atomics.store(futex, 0, 0);
      Atomics.notify(futex, 0, 1);
    }
  };
  parentPort.postMessage('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(control, 0, seen);
    seen = Atomics.load(control, 0);
    const command = Atomics.load(control, 1);
    const count = Atomics.load(control, 2);
    const participants = Atomics.load(control, 4);
    if (command === ${Command.stop}) break;
    if (index >= participants) continue;
    switch (command) {
      case ${Command.futexMutex}:
        for (let i = 0; i < count; i++) { lock(); counter[0]++; unlock(); }
        break;
      case ${Command.sharedMutex}:
        for (let i = 0; i < count; i++) { mutex.lockSync(); counter[0]++; mutex.unlock(); }
        break;
      case ${Command.atomicAdd}:
        for (let i = 0; i < count; i++) atomic.increment();
        break;
      case ${Command.striped}:
        for (let i = 0; i < count; i++) striped.increment();
        break;
      case ${Command.separateLines}: {
        const at = index * 16;
        for (let i = 0; i < count; i++) Atomics.add(lines, at, 1);
        break;
      }
      case ${Command.post}:
        for (let i = 0; i < count; i++) parentPort.postMessage(i);
        break;
      case ${Command.postBytes}:
        for (let i = 0; i < count; i++) { message[0] = i; parentPort.postMessage(message); }
        break;
      case ${Command.channel}:
        for (let i = 0; i < count; i++) { message[0] = i; channel.sendSync(message); }
        break;
      case ${Command.spsc}:
        for (let i = 0; i < count; i++) while (!spsc.tryPush(i));
        break;
      case ${Command.spscBlocking}:
        for (let i = 0; i < count; i++) spsc.pushSync(i);
        break;
      case ${Command.handRing}:
        for (let i = 0; i < count; ) {
          if (((handTail - handCachedHead) | 0) >= ${HAND_SLOTS}) {
            let spin = handSpin;
            for (let k = 0; k < ${HAND_PAUSE}; k++) spin = (spin + k) | 0;
            handSpin = spin;
            handCachedHead = Atomics.load(handControl, ${HAND_HEAD});
            continue;
          }
          handData[handTail & ${HAND_SLOTS - 1}] = i++;
          handTail = (handTail + 1) | 0;
          Atomics.store(handControl, ${HAND_TAIL}, handTail);
        }
        break;
      case ${Command.spscBulk}:
        for (let sent = 0; sent < count; ) sent += spsc.tryPushMany(run, 0, Math.min(${RUN}, count - sent));
        break;
      case ${Command.ringbuf}:
        for (let i = 0; i < count; i++) { one[0] = i; while (ring.push(one) === 0); }
        break;
      case ${Command.ringbufBulk}:
        for (let sent = 0; sent < count; ) sent += ring.push(run, Math.min(${RUN}, count - sent));
        break;
      case ${Command.mpmc}:
        if (index < threads) {
          for (let i = 0; i < count; i++) mpmc.pushSync(i);
        } else {
          for (let taken = 0; taken < count; ) taken += mpmc.popManySync(run, 0, Math.min(${RUN}, count - taken));
        }
        break;
    }
    Atomics.add(control, 3, 1);
    Atomics.notify(control, 3);
  }
})();
`;

const words = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(bytes);
const objects = {
  control: words(64),
  futex: words(64),
  counter: words(64),
  lines: words(64 * 2 * THREADS),
  mutex: new SharedMutex().handle,
  atomic: new AtomicInt32().handle,
  striped: new StripedCounter({ cells: 2 * THREADS }).handle,
  spsc: new SpscQueue('int32', 1024).handle,
  ringbuf: RingBuffer.getStorageForCapacity(1024, Int32Array),
  mpmc: new MpmcQueue('int32', 1024).handle,
  handRing: words(HAND_DATA + HAND_SLOTS * 4),
  channel: new ByteChannel(1 << 16).handle,
};
const control = new Int32Array(objects.control);
const spsc = SpscQueue.from(objects.spsc);
const channel = ByteChannel.from(objects.channel);
const ring = new RingBuffer(objects.ringbuf, Int32Array);
const workers: Worker[] = [];

/** Runs one round on the first `participants` workers and blocks until they are done. */
function round(command: number, count: number, participants: number, mainSide?: () => void): void {
  Atomics.store(control, 1, command);
  Atomics.store(control, 2, count);
  Atomics.store(control, 3, 0);
  Atomics.store(control, 4, participants);
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
  mainSide?.();
  for (let done = Atomics.load(control, 3); done < participants; done = Atomics.load(control, 3)) {
    Atomics.wait(control, 3, done);
  }
}

function receive(count: number, take: () => number): () => void {
  return () => {
    for (let received = 0; received < count; ) received += take();
  };
}

const one = new Int32Array(1);
const run = new Int32Array(RUN);
const handControl = new Int32Array(objects.handRing, 0, HAND_DATA / 4);
const handData = new Int32Array(objects.handRing, HAND_DATA, HAND_SLOTS);
let handHead = 0;
let handCachedTail = 0;
let handSum = 0;
let handSpin = 0;

/** The hand-written ring's consumer: takes `count` elements, pausing while it is empty. */
function handReceive(count: number): void {
  let sum = handSum;
  for (let received = 0; received < count; ) {
    if (handHead === handCachedTail) {
      let spin = handSpin;
      for (let k = 0; k < HAND_PAUSE; k++) spin = (spin + k) | 0;
      handSpin = spin;
      handCachedTail = Atomics.load(handControl, HAND_TAIL);
      continue;
    }
    sum = (sum + handData[handHead & (HAND_SLOTS - 1)]!) | 0;
    handHead = (handHead + 1) | 0;
    Atomics.store(handControl, HAND_HEAD, handHead);
    received++;
  }
  handSum = sum;
}
const mainWords = new Int32Array(words(64));
const mainMutex = new SharedMutex();
let posted = 0;
let onPosted: (() => void) | undefined;

/** A round in which one worker posts MESSAGES messages; resolves once all have arrived. */
function postRound(command: number): Promise<void> {
  return new Promise<void>((resolve) => {
    posted = 0;
    onPosted = resolve;
    round(command, MESSAGES, 1);
  });
}

const tasks: BenchmarkTask[] = [
  {
    group: UNCONTENDED,
    kind: 'floor',
    name: 'Atomics.compareExchange + Atomics.store',
    batch: BATCH,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        Atomics.compareExchange(mainWords, 0, 0, 1);
        Atomics.store(mainWords, 0, 0);
      }
    },
  },
  {
    group: UNCONTENDED,
    kind: 'ours',
    name: 'SharedMutex lockSync + unlock',
    batch: BATCH,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        mainMutex.lockSync();
        mainMutex.unlock();
      }
    },
  },
  {
    group: UNCONTENDED,
    kind: 'ours',
    name: 'SharedMutex acquire + release (lease)',
    batch: 1000,
    fn: async () => {
      for (let i = 0; i < 1000; i++) (await mainMutex.acquire()).release();
    },
  },
  {
    group: CONTENDED,
    kind: 'floor',
    name: 'hand-written futex mutex',
    batch: ROUND * THREADS,
    fn: () => round(Command.futexMutex, ROUND, THREADS),
  },
  {
    group: CONTENDED,
    kind: 'ours',
    name: 'SharedMutex lockSync + unlock (workers)',
    batch: ROUND * THREADS,
    fn: () => round(Command.sharedMutex, ROUND, THREADS),
  },
  {
    group: COUNTERS,
    kind: 'floor',
    name: 'Atomics.add, each worker on its own line',
    batch: ROUND * THREADS,
    fn: () => round(Command.separateLines, ROUND, THREADS),
  },
  {
    group: COUNTERS,
    kind: 'peer',
    name: 'one AtomicInt32, contended',
    batch: ROUND * THREADS,
    fn: () => round(Command.atomicAdd, ROUND, THREADS),
  },
  {
    group: COUNTERS,
    kind: 'ours',
    name: 'StripedCounter.increment',
    batch: ROUND * THREADS,
    fn: () => round(Command.striped, ROUND, THREADS),
  },
  {
    group: SPSC,
    kind: 'peer',
    name: 'postMessage (a number)',
    batch: MESSAGES,
    async: true,
    fn: () => postRound(Command.post),
  },
  {
    group: SPSC,
    kind: 'floor',
    name: 'hand-written SPSC ring',
    batch: ROUND,
    fn: () => round(Command.handRing, ROUND, 1, () => handReceive(ROUND)),
  },
  {
    group: SPSC,
    kind: 'peer',
    name: 'ringbuf.js push / pop',
    batch: ROUND,
    fn: () =>
      round(
        Command.ringbuf,
        ROUND,
        1,
        receive(ROUND, () => ring.pop(one)),
      ),
  },
  {
    group: SPSC,
    kind: 'ours',
    name: 'SpscQueue tryPush / tryPop',
    batch: ROUND,
    fn: () =>
      round(
        Command.spsc,
        ROUND,
        1,
        receive(ROUND, () => (spsc.tryPop() === undefined ? 0 : 1)),
      ),
  },
  {
    group: SPSC,
    kind: 'ours',
    name: 'SpscQueue pushSync / popSync (spin, then park)',
    batch: ROUND,
    fn: () =>
      round(Command.spscBlocking, ROUND, 1, () => {
        for (let received = 0; received < ROUND; received++) spsc.popSync();
      }),
  },
  {
    group: SPSC_BULK,
    kind: 'peer',
    name: 'ringbuf.js push / pop (64)',
    batch: ROUND * 4,
    fn: () =>
      round(
        Command.ringbufBulk,
        ROUND * 4,
        1,
        receive(ROUND * 4, () => ring.pop(run)),
      ),
  },
  {
    group: SPSC_BULK,
    kind: 'ours',
    name: 'SpscQueue tryPushMany / tryPopMany (64)',
    batch: ROUND * 4,
    fn: () =>
      round(
        Command.spscBulk,
        ROUND * 4,
        1,
        receive(ROUND * 4, () => spsc.tryPopMany(run)),
      ),
  },
  {
    group: BYTES,
    kind: 'peer',
    name: 'postMessage (a Uint8Array)',
    batch: MESSAGES,
    async: true,
    fn: () => postRound(Command.postBytes),
  },
  {
    group: BYTES,
    kind: 'ours',
    name: 'ByteChannel sendSync / receiveSync',
    batch: ROUND,
    fn: () =>
      round(Command.channel, ROUND, 1, () => {
        for (let received = 0; received < ROUND; received++) channel.receiveSync();
      }),
  },
  {
    group: MPMC,
    kind: 'ours',
    name: 'MpmcQueue pushSync / popManySync',
    batch: ROUND * THREADS,
    fn: () => round(Command.mpmc, ROUND, 2 * THREADS),
  },
];

export default defineSuite({
  name: 'shared',
  title: 'Shared memory (worker_threads)',
  description:
    `@cf/atomics and the shared-memory locks across worker_threads (${THREADS} contending workers; ` +
    'CF_BENCH_THREADS sets it), against raw Atomics, a minimal futex mutex, postMessage and ringbuf.js.',
  time: 2000,
  iterations: 16,
  setup: async () => {
    const require = (await import('node:module')).createRequire(import.meta.url);
    const urls = {
      atomics: new URL(`file://${require.resolve('@cf/atomics')}`).href,
      locks: new URL(`file://${require.resolve('@cf/locks')}`).href,
      ringbuf: import.meta.resolve('ringbuf.js'),
    };
    for (let index = 0; index < 2 * THREADS; index++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { urls, index, threads: THREADS, objects } });
      worker.on('message', (message) => {
        if (message === 'ready') return;
        if (++posted === MESSAGES) onPosted?.();
      });
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      workers.push(worker);
    }
  },
  teardown: async () => {
    Atomics.store(control, 1, Command.stop);
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  },
  tasks,
  targets: [
    {
      task: 'SharedMutex lockSync + unlock',
      vs: 'Atomics.compareExchange + Atomics.store',
      atMost: 1.2,
      note: 'issue 4',
    },
    {
      task: 'SharedMutex lockSync + unlock (workers)',
      vs: 'hand-written futex mutex',
      atMost: 1 / 0.9,
      note: 'issue 4: >= 0.9x',
    },
    { task: 'StripedCounter.increment', vs: 'one AtomicInt32, contended', atMost: 1 / 4, note: 'issue 4: >= 4x' },
    // postMessage wakes an idle consumer; the comparable SpscQueue use is the waiting pair.
    {
      task: 'SpscQueue pushSync / popSync (spin, then park)',
      vs: 'postMessage (a number)',
      atMost: 1 / 12,
      note: 'issue 4: >= 12x',
    },
    // The floor checks nothing and cannot sleep; SpscQueue publishes with an exchange that also
    // returns the other side's "wake me" flag, and checks types and the closed flag.
    {
      task: 'SpscQueue pushSync / popSync (spin, then park)',
      vs: 'hand-written SPSC ring',
      atMost: 2,
      note: 'within 2x of the bare ring',
    },
    // ringbuf.js only polls: compare the polling pair with it, and the waiting pair too.
    { task: 'SpscQueue tryPush / tryPop', vs: 'ringbuf.js push / pop', atMost: 1, note: 'issue 4: >= ringbuf.js' },
    { task: 'SpscQueue pushSync / popSync (spin, then park)', vs: 'ringbuf.js push / pop', atMost: 1, note: 'issue 4' },
    { task: 'SpscQueue tryPushMany / tryPopMany (64)', vs: 'ringbuf.js push / pop (64)', atMost: 1, note: 'issue 4' },
    { task: 'MpmcQueue pushSync / popManySync', vs: 'postMessage (a number)', atMost: 1 / 5, note: 'issue 4: >= 5x' },
  ],
});
