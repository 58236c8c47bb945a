/**
 * @cf/distributed-redis against a hand-written minimal lock and the usual npm Redis locks, all
 * against the same local redis-server processes (started here, on free loopback ports).
 *
 * Floors: `SET key token NX PX ttl` + EVALSHA compare-and-delete (2 round trips), and the same
 * on 3 servers, resolving at a majority, for Redlock. Contended handoff is measured one handoff per
 * sample: the waiter is already queued, a random 0-10 ms later the holder releases, and the
 * sample ends when the waiter holds the lock. Rotating over many resources keeps each resource's
 * re-queueing out of the timed window.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { RedisLock, Redlock } from '@cf/distributed-redis';
import {
  REDIS_INSTALL_HINT,
  type RedisServerGroup,
  redisServerAvailable,
  startRedisServers,
} from '@cf/test-servers/redis';
import { Redlock as SesameRedlock } from '@sesamecare-oss/redlock';
import { Redis } from 'ioredis';
import { Mutex as SemaphoreMutex } from 'redis-semaphore';
import { type BenchmarkTask, defineSuite, type Measurement, SkipSuite } from '../harness.ts';
import { redlockRaiseCost, waiterCommandsPerSecond } from '../lib/redis.ts';
import { concurrentTask, lazy, sequentialTask, sleep } from '../lib/tasks.ts';

// redlock 4 ships no types; this is the part used here.
interface RedlockV4Lock {
  unlock(): Promise<void>;
}
type RedlockV4 = new (
  clients: Redis[],
  options: object,
) => { lock(resource: string, ttl: number): Promise<RedlockV4Lock> };
const RedlockV4 = createRequire(import.meta.url)('redlock') as RedlockV4;

const TTL = 10_000;
const SEQUENTIAL = 20;
const CONCURRENT = 50;
const DELETE_IF_OURS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

let group: RedisServerGroup | undefined;
const clients: Redis[] = [];
let deleteSha = '';

function connect(index: number): Redis {
  const server = group!.servers[index]!;
  const client = new Redis(server.port, server.host);
  clients.push(client);
  return client;
}

const main = lazy(() => connect(0));
const other = lazy(() => connect(0));
const three = lazy(() => [main(), connect(1), connect(2)]);

async function floorOnce(client: Redis, key: string): Promise<void> {
  const token = randomUUID();
  await client.set(key, token, 'PX', TTL, 'NX');
  await client.evalsha(deleteSha, 1, key, token);
}

// Resolves once a majority of the calls resolved, as a hand-written Redlock would.
function majority(calls: Promise<unknown>[]): Promise<void> {
  const needed = Math.floor(calls.length / 2) + 1;
  let done = 0;
  return new Promise((resolve, reject) => {
    for (const call of calls) call.then(() => ++done === needed && resolve(), reject);
  });
}

async function floorQuorumAll(members: Redis[], key: string): Promise<void> {
  const token = randomUUID();
  await Promise.all(members.map((c) => c.set(key, token, 'PX', TTL, 'NX')));
  await Promise.all(members.map((c) => c.evalsha(deleteSha, 1, key, token)));
}

async function floorQuorum(members: Redis[], key: string): Promise<void> {
  const token = randomUUID();
  await majority(members.map((c) => c.set(key, token, 'PX', TTL, 'NX')));
  await majority(members.map((c) => c.evalsha(deleteSha, 1, key, token)));
}

const ours = lazy(() => new RedisLock(main(), 'seq', { ttl: TTL }));
const redlockV4 = lazy(() => new RedlockV4([main()], { retryCount: 0 }));
const sesame = lazy(() => new SesameRedlock([main()], { retryCount: 0 }));
const semaphoreMutex = lazy(() => new SemaphoreMutex(main(), 'seq-rs', {}));

const SEQ = `sequential acquire+release (${SEQUENTIAL} per sample)`;
const sequential: BenchmarkTask[] = [
  sequentialTask(SEQ, 'floor', 'hand-written SET NX PX + EVALSHA delete', SEQUENTIAL, () =>
    floorOnce(main(), 'seq-floor'),
  ),
  sequentialTask(SEQ, 'ours', '@cf RedisLock', SEQUENTIAL, async () => (await ours().acquire()).release()),
  sequentialTask(SEQ, 'peer', 'redlock 4', SEQUENTIAL, async () => (await redlockV4().lock('seq-v4', TTL)).unlock()),
  sequentialTask(SEQ, 'peer', '@sesamecare-oss/redlock', SEQUENTIAL, async () =>
    (await sesame().acquire(['seq-sesame'], TTL)).release(),
  ),
  sequentialTask(SEQ, 'peer', 'redis-semaphore Mutex', SEQUENTIAL, async () => {
    await semaphoreMutex().acquire();
    await semaphoreMutex().release();
  }),
];

const keys = Array.from({ length: CONCURRENT }, (_, i) => `many-${i}`);
const ourMany = lazy(() => keys.map((k) => new RedisLock(main(), k, { ttl: TTL })));
const semaphoreMany = lazy(() => keys.map((k) => new SemaphoreMutex(main(), `${k}-rs`, {})));
const MANY = `${CONCURRENT} concurrent callers on distinct keys`;
const concurrent: BenchmarkTask[] = [
  concurrentTask(MANY, 'floor', 'hand-written SET NX PX + EVALSHA delete', CONCURRENT, (i) =>
    floorOnce(main(), `${keys[i]}-floor`),
  ),
  concurrentTask(MANY, 'ours', '@cf RedisLock', CONCURRENT, async (i) => (await ourMany()[i]!.acquire()).release()),
  concurrentTask(MANY, 'peer', 'redlock 4', CONCURRENT, async (i) =>
    (await redlockV4().lock(`${keys[i]}-v4`, TTL)).unlock(),
  ),
  concurrentTask(MANY, 'peer', '@sesamecare-oss/redlock', CONCURRENT, async (i) =>
    (await sesame().acquire([`${keys[i]}-sesame`], TTL)).release(),
  ),
  concurrentTask(MANY, 'peer', 'redis-semaphore Mutex', CONCURRENT, async (i) => {
    const mutex = semaphoreMany()[i]!;
    await mutex.acquire();
    await mutex.release();
  }),
];

/** One side of a handoff pair: acquires and resolves with the matching release. */
type Side = () => Promise<() => Promise<void>>;

interface Slot {
  readonly sides: readonly [Side, Side];
  holder: 0 | 1;
  release: () => Promise<void>;
  waiting: Promise<() => Promise<void>>;
  ready: Promise<void>;
}

// The other side queues, and the next release comes 2-12 ms later, so a polling waiter is caught
// at a random point of its retry interval.
function queueWaiter(slot: Slot): void {
  slot.waiting = slot.sides[slot.holder === 0 ? 1 : 0]();
  slot.ready = sleep(2 + Math.random() * 10);
}

/**
 * One handoff per sample: the holder releases and the sample ends when the queued waiter holds.
 * `slots` resources are used in turn, so each one's re-queueing (2-12 ms) happens while others
 * are measured.
 */
function handoffTask(
  kind: 'ours' | 'peer',
  name: string,
  slots: number,
  pair: (resource: string) => readonly [Side, Side],
): BenchmarkTask {
  let ring: Slot[] = [];
  let next = 0;
  let round = 0;
  return {
    group: HANDOFF,
    kind,
    name,
    async: true,
    beforeAll: async () => {
      round++;
      ring = await Promise.all(
        Array.from({ length: slots }, async (_, i) => {
          const sides = pair(`handoff-${kind}-${round}-${i}`);
          const slot = { sides, holder: 0, release: await sides[0]() } as Slot;
          queueWaiter(slot);
          return slot;
        }),
      );
    },
    fn: async () => {
      const slot = ring[next++ % ring.length]!;
      await slot.ready;
      const releasing = slot.release();
      slot.release = await slot.waiting;
      slot.holder = slot.holder === 0 ? 1 : 0;
      queueWaiter(slot);
      await releasing;
    },
    afterAll: async () => {
      for (const slot of ring) {
        await slot.release();
        await (await slot.waiting)();
      }
    },
  };
}

const HANDOFF = 'contended handoff: holder releases -> waiter on another connection holds (one handoff per sample)';
const handoff: BenchmarkTask[] = [
  {
    group: HANDOFF,
    kind: 'floor',
    name: 'two sequential PINGs',
    fn: async () => {
      await main().ping();
      await other().ping();
    },
  },
  handoffTask('ours', '@cf RedisLock', 64, (resource) => {
    const locks = [new RedisLock(main(), resource, { ttl: TTL }), new RedisLock(other(), resource, { ttl: TTL })];
    return locks.map((lock) => async () => {
      const lease = await lock.acquire();
      return () => lease.release();
    }) as unknown as readonly [Side, Side];
  }),
  handoffTask('peer', 'redis-semaphore Mutex (defaults)', 16, (resource) => {
    const mutexes = [new SemaphoreMutex(main(), resource, {}), new SemaphoreMutex(other(), resource, {})];
    return mutexes.map((mutex) => async () => {
      await mutex.acquire();
      return () => mutex.release();
    }) as unknown as readonly [Side, Side];
  }),
];

const ourRedlock = lazy(() => new Redlock(three(), 'quorum', { ttl: TTL }));
const redlockV4Three = lazy(() => new RedlockV4(three(), { retryCount: 0 }));
const sesameThree = lazy(() => new SesameRedlock(three(), { retryCount: 0 }));
const QUORUM = `Redlock over 3 servers (${SEQUENTIAL} sequential per sample)`;
const quorum: BenchmarkTask[] = [
  sequentialTask(QUORUM, 'floor', 'hand-written quorum: SET NX PX, EVALSHA delete on 3, all', SEQUENTIAL, () =>
    floorQuorumAll(three(), 'quorum-floor-all'),
  ),
  sequentialTask(QUORUM, 'floor', 'hand-written quorum: SET NX PX, EVALSHA delete on 3, majority', SEQUENTIAL, () =>
    floorQuorum(three(), 'quorum-floor'),
  ),
  sequentialTask(QUORUM, 'ours', '@cf Redlock', SEQUENTIAL, async () => (await ourRedlock().acquire()).release()),
  sequentialTask(QUORUM, 'peer', 'redlock 4 (3 servers)', SEQUENTIAL, async () =>
    (await redlockV4Three().lock('quorum-v4', TTL)).unlock(),
  ),
  sequentialTask(QUORUM, 'peer', '@sesamecare-oss/redlock (3 servers)', SEQUENTIAL, async () =>
    (await sesameThree().acquire(['quorum-sesame'], TTL)).release(),
  ),
];

const quick = process.argv.includes('--quick');
const WAITER_OURS = 'waiter commands/s, @cf RedisLock';
const WAITER_PEER = 'waiter commands/s, redis-semaphore Mutex (defaults)';
const HANDOFF_P50 = 'handoff p50, @cf RedisLock';
const REDLOCK_IN_STEP = 'Redlock acquire+release, counters in step';
const REDLOCK_RAISE = 'Redlock acquire+release, counters disagreeing (fence raise round)';

/** What the timings cannot show: a waiter's command rate, the handoff p50, Redlock's raise round. */
async function measurements(context: { p50Ns(task: string, group?: string): number }): Promise<Measurement[]> {
  const windowMs = quick ? 3000 : 10_000;
  const rates = await waiterCommandsPerSecond(group!.servers[0]!, windowMs);
  const waiterNote = `lock held elsewhere; client-side count over ${windowMs / 1000} s after a 1 s start`;
  const raise = await redlockRaiseCost(three(), quick ? 40 : 400);
  const raiseNote = 'median, 3 servers, a new Redlock object each time';
  return [
    { name: WAITER_OURS, value: rates.ours, unit: 'commands/s', note: waiterNote },
    { name: WAITER_PEER, value: rates.peer, unit: 'commands/s', note: waiterNote },
    {
      name: HANDOFF_P50,
      value: context.p50Ns('@cf RedisLock', HANDOFF) / 1000,
      unit: 'µs',
      note: 'median of the handoff task above',
    },
    {
      name: 'handoff p50, redis-semaphore Mutex (defaults)',
      value: context.p50Ns('redis-semaphore Mutex (defaults)', HANDOFF) / 1000,
      unit: 'µs',
      note: 'median of the handoff task above',
    },
    { name: REDLOCK_IN_STEP, value: raise.inStep, unit: 'µs', note: raiseNote },
    {
      name: REDLOCK_RAISE,
      value: raise.disagreeing,
      unit: 'µs',
      note: `${raiseNote}; every acquisition raises one server`,
    },
  ];
}

export default defineSuite({
  name: 'redis',
  title: 'Redis locks',
  description:
    'Against local redis-server 7 processes on loopback, all in one process run. The floor is a hand-written minimal lock ' +
    '(SET NX PX, then EVALSHA compare-and-delete: 2 round trips); @cf RedisLock additionally takes a fencing token (INCR) ' +
    'in its acquire script, publishes on release and arms its watchdog. Handoff: one sample per handoff, waiter already queued.',
  setup: async () => {
    if (!redisServerAvailable()) throw new SkipSuite(REDIS_INSTALL_HINT);
    group = await startRedisServers(3);
    deleteSha = String(await main().script('LOAD', DELETE_IF_OURS));
    await Promise.all(three().map((c) => c.script('LOAD', DELETE_IF_OURS)));
  },
  teardown: async () => {
    for (const client of clients) client.disconnect();
    await group?.stop();
  },
  tasks: [...sequential, ...concurrent, ...handoff, ...quorum],
  measurements,
  targets: [
    { task: '@cf RedisLock', vs: 'hand-written SET NX PX + EVALSHA delete', group: SEQ, atMost: 1.05, note: 'issue 5' },
    { task: '@cf RedisLock', vs: 'redlock 4', group: SEQ, atMost: 1, note: 'issue 5' },
    { task: '@cf RedisLock', vs: '@sesamecare-oss/redlock', group: SEQ, atMost: 1, note: 'issue 5' },
    { task: '@cf RedisLock', vs: 'redis-semaphore Mutex', group: SEQ, atMost: 1, note: 'issue 5' },
    { task: '@cf RedisLock', vs: 'hand-written SET NX PX + EVALSHA delete', group: MANY, atMost: 1.1, note: 'issue 5' },
    {
      task: '@cf Redlock',
      vs: 'hand-written quorum: SET NX PX, EVALSHA delete on 3, majority',
      atMost: 1.1,
      note: 'issue 5',
    },
    {
      task: '@cf Redlock',
      vs: 'hand-written quorum: SET NX PX, EVALSHA delete on 3, all',
      atMost: 1.1,
      note: 'issue 5, with a Promise.all floor',
    },
    { measurement: HANDOFF_P50, atMost: 1000, note: 'issue 5: handoff p50 <= 1 ms (1000 µs)' },
    {
      task: '@cf RedisLock',
      vs: 'redis-semaphore Mutex (defaults)',
      group: HANDOFF,
      atMost: 1 / 20,
      note: 'issue 5: >= 20x lower',
    },
    { measurement: WAITER_OURS, vs: WAITER_PEER, atMost: 0.01, note: "issue 5: <= 1% of redis-semaphore's" },
  ],
});
