/**
 * @cf/distributed-etcd against a hand-written minimal etcd lock and the etcd3 package's own Lock,
 * all against one local etcd member started here (free loopback ports, data on the local disk).
 *
 * Floors: one put (a write round trip), and a hand-written lock: lease grant + create-if-absent
 * transaction + lease revoke (3 round trips). EtcdLock reuses its session's lease, so an
 * uncontended acquire+release is 2 transactions; etcd3's Lock grants a lease, opens a keep-alive
 * stream, runs a transaction and revokes the lease each time.
 *
 * Contended handoff is measured one handoff per sample, as in the Redis suite: the waiter (another
 * client, so another session) is already queued and watching its predecessor, the holder releases,
 * and the sample ends when the waiter holds the lock. A handoff costs one write (the delete); the
 * waiter is woken by its watch. Two rows: the handoff alone (the previous holders re-queue in
 * bursts, in every 32nd sample), and the steady state where each handoff shares etcd's write
 * pipeline with the previous holder's new create. etcd3's Lock never waits, so it has no row.
 */
import { type EtcdLease, EtcdLock, Session } from '@cf/distributed-etcd';
import { type EtcdCluster, etcdAvailable, startEtcd } from '@cf/test-servers/etcd';
import { Etcd3 } from 'etcd3';
import { type BenchmarkTask, defineSuite, SkipSuite } from '../harness.ts';

const TTL_SECONDS = 60;
const SEQUENTIAL = 10;
const CONCURRENT = 20;

let etcd: EtcdCluster | undefined;
const clients: Etcd3[] = [];

function connect(): Etcd3 {
  const client = new Etcd3({ hosts: [...etcd!.endpoints] });
  clients.push(client);
  return client;
}

/** Lazily built per task, after setup has started etcd. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

const main = lazy(connect);
const session = lazy(() => Session.create(main(), { ttl: TTL_SECONDS * 1000 }));

/** The hand-written lock: grant a lease, create the key only if absent, revoke the lease. */
async function handWritten(client: Etcd3, key: string): Promise<void> {
  const { ID } = await client.leaseClient.leaseGrant({ TTL: TTL_SECONDS });
  const name = Buffer.from(key);
  const response = await client.kv.txn({
    compare: [{ key: name, target: 1, result: 0, create_revision: 0 }],
    success: [{ request_put: { key: name, value: Buffer.alloc(0), lease: ID } }],
  });
  if (!response.succeeded) throw new Error(`${key} was taken`);
  await client.leaseClient.leaseRevoke({ ID });
}

async function etcd3Lock(client: Etcd3, key: string): Promise<void> {
  const lock = client.lock(key).ttl(TTL_SECONDS);
  await lock.acquire();
  await lock.release();
}

const SEQ = `sequential acquire+release, uncontended (${SEQUENTIAL} per sample)`;
const ours = lazy(async () => new EtcdLock(main(), 'seq-ours', { session: await session() }));
const sequential: BenchmarkTask[] = [
  {
    group: SEQ,
    kind: 'floor',
    name: 'etcd put (1 write round trip)',
    batch: SEQUENTIAL,
    fn: async () => {
      for (let i = 0; i < SEQUENTIAL; i++) await main().put('seq-put').value('x');
    },
  },
  {
    group: SEQ,
    kind: 'floor',
    name: 'hand-written lock (grant + create-if-absent txn + revoke)',
    batch: SEQUENTIAL,
    fn: async () => {
      for (let i = 0; i < SEQUENTIAL; i++) await handWritten(main(), 'seq-floor');
    },
  },
  {
    group: SEQ,
    kind: 'ours',
    name: '@cf EtcdLock (open session)',
    batch: SEQUENTIAL,
    fn: async () => {
      const lock = await ours();
      for (let i = 0; i < SEQUENTIAL; i++) await (await lock.acquire()).release();
    },
  },
  {
    group: SEQ,
    kind: 'peer',
    name: 'etcd3 Lock',
    batch: SEQUENTIAL,
    fn: async () => {
      for (let i = 0; i < SEQUENTIAL; i++) await etcd3Lock(main(), 'seq-etcd3');
    },
  },
];

const names = Array.from({ length: CONCURRENT }, (_, i) => `many-${i}`);
const oursMany = lazy(async () => {
  const open = await session();
  return names.map((n) => new EtcdLock(main(), n, { session: open }));
});
const MANY = `${CONCURRENT} concurrent callers on distinct names`;
const concurrent: BenchmarkTask[] = [
  {
    group: MANY,
    kind: 'floor',
    name: 'hand-written lock x20',
    batch: CONCURRENT,
    fn: () => Promise.all(names.map((n) => handWritten(main(), `${n}-floor`))),
    async: true,
  },
  {
    group: MANY,
    kind: 'ours',
    name: '@cf EtcdLock x20 (open session)',
    batch: CONCURRENT,
    fn: async () => {
      await Promise.all((await oursMany()).map(async (lock) => (await lock.acquire()).release()));
    },
  },
  {
    group: MANY,
    kind: 'peer',
    name: 'etcd3 Lock x20',
    batch: CONCURRENT,
    fn: () => Promise.all(names.map((n) => etcd3Lock(main(), `${n}-etcd3`))),
    async: true,
  },
];

interface Slot {
  readonly sides: readonly [EtcdLock, EtcdLock];
  holder: 0 | 1;
  lease: EtcdLease;
  waiting: Promise<EtcdLease> | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function requeue(slot: Slot): void {
  slot.waiting = slot.sides[slot.holder === 0 ? 1 : 0].acquire();
}

const HANDOFF = 'contended handoff: holder releases -> waiter of another session holds (one handoff per sample)';
const pair = lazy(() => [connect(), connect()] as const);

/**
 * One handoff per sample over a ring of 64 names, each with a holder and a queued waiter.
 * `burst`: the sides that handed over are queued again 32 at a time, in every 32nd sample (which
 * also waits 20 ms for them to be in place): the other samples measure the handoff alone, with no
 * other write in etcd's pipeline. Otherwise the side that handed over queues again during the next
 * sample, so every handoff shares etcd's write pipeline (and its WAL fsyncs) with one other write.
 */
function handoffTask(name: string, burst: boolean): BenchmarkTask {
  let ring: Slot[] = [];
  let pending: Slot[] = [];
  let next = 0;
  let round = 0;
  return {
    group: HANDOFF,
    kind: 'ours',
    name,
    async: true,
    beforeAll: async () => {
      round++;
      const [a, b] = pair();
      ring = await Promise.all(
        Array.from({ length: 64 }, async (_, i) => {
          const resource = `handoff-${burst ? 'burst' : 'steady'}-${round}-${i}`;
          const sides = [new EtcdLock(a, resource), new EtcdLock(b, resource)] as const;
          const slot: Slot = { sides, holder: 0, lease: await sides[0].acquire(), waiting: undefined };
          requeue(slot);
          return slot;
        }),
      );
      pending = [];
      await sleep(200);
    },
    fn: async () => {
      const slot = ring[next++ % ring.length]!;
      const releasing = slot.lease.release();
      if (!burst && pending.length > 0) requeue(pending.pop()!);
      slot.lease = await slot.waiting!;
      slot.waiting = undefined;
      slot.holder = slot.holder === 0 ? 1 : 0;
      pending.push(slot);
      await releasing;
      if (burst && pending.length === 32) {
        for (const queued of pending) requeue(queued);
        pending = [];
        await sleep(20);
      }
    },
    afterAll: async () => {
      for (const slot of pending) requeue(slot);
      pending = [];
      for (const slot of ring) {
        await slot.lease.release();
        if (slot.waiting !== undefined) await (await slot.waiting).release();
      }
    },
  };
}

const handoff: BenchmarkTask[] = [
  {
    group: HANDOFF,
    kind: 'floor',
    name: 'etcd put (1 write round trip)',
    fn: async () => {
      await main().put('handoff-put').value('x');
    },
  },
  {
    group: HANDOFF,
    kind: 'floor',
    name: '1 ms reference (busy wait)',
    fn: () => {
      const start = performance.now();
      while (performance.now() - start < 1);
    },
  },
  handoffTask('@cf EtcdLock handoff', true),
  handoffTask('@cf EtcdLock handoff, previous holder re-queueing meanwhile', false),
];

export default defineSuite({
  name: 'etcd',
  title: 'etcd locks (@cf/distributed-etcd)',
  description:
    'EtcdLock (the Go concurrency.Mutex algorithm, session lease reused) against a hand-written lock ' +
    '(lease grant + create-if-absent txn + revoke) and the etcd3 package Lock, on one local etcd member.',
  setup: async () => {
    if (!etcdAvailable()) throw new SkipSuite('etcd/etcdctl not found: apt-get install etcd-server etcd-client');
    etcd = await startEtcd();
  },
  teardown: async () => {
    for (const client of clients) {
      await Session.closeShared(client).catch(() => {});
      client.close();
    }
    await (await session().catch(() => undefined))?.close().catch(() => {});
    await etcd?.stop();
  },
  tasks: [...sequential, ...concurrent, ...handoff],
  targets: [
    { task: '@cf EtcdLock (open session)', vs: 'etcd3 Lock', atMost: 0.7, note: 'issue 6: 2 RPCs instead of 4' },
    {
      task: '@cf EtcdLock x20 (open session)',
      vs: 'etcd3 Lock x20',
      atMost: 1 / 1.3,
      note: 'issue 6: >= 1.3x throughput',
    },
    {
      task: '@cf EtcdLock handoff',
      vs: 'etcd put (1 write round trip)',
      group: HANDOFF,
      atMost: 2,
      note: 'issue 6: p50 <= 2 round trips',
    },
  ],
});
