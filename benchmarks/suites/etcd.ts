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
 * client, so another session) is already queued and watching, a random 2-12 ms later the holder
 * releases, and the sample ends when the waiter holds the lock. Rotating over several names keeps
 * each name's re-queueing out of the timed window. etcd3's Lock never waits, so it has no row.
 */
import { EtcdLock, type EtcdLease, Session } from '@cf/distributed-etcd';
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
  waiting: Promise<EtcdLease>;
  ready: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function queueWaiter(slot: Slot): void {
  slot.waiting = slot.sides[slot.holder === 0 ? 1 : 0].acquire();
  // Long enough for the waiter's key and watch to be in place before the next release.
  slot.ready = sleep(2 + Math.random() * 10);
}

const HANDOFF = 'contended handoff: holder releases -> waiter of another session holds (one handoff per sample)';
const pair = lazy(() => [connect(), connect()] as const);
let ring: Slot[] = [];
let next = 0;
let round = 0;
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
  {
    group: HANDOFF,
    kind: 'ours',
    name: '@cf EtcdLock handoff',
    async: true,
    beforeAll: async () => {
      round++;
      const [a, b] = pair();
      ring = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const sides = [new EtcdLock(a, `handoff-${round}-${i}`), new EtcdLock(b, `handoff-${round}-${i}`)] as const;
          const slot = { sides, holder: 0, lease: await sides[0].acquire() } as Slot;
          queueWaiter(slot);
          return slot;
        }),
      );
    },
    fn: async () => {
      const slot = ring[next++ % ring.length]!;
      await slot.ready;
      const releasing = slot.lease.release();
      slot.lease = await slot.waiting;
      slot.holder = slot.holder === 0 ? 1 : 0;
      queueWaiter(slot);
      await releasing;
    },
    afterAll: async () => {
      for (const slot of ring) {
        await slot.lease.release();
        await (await slot.waiting).release();
      }
    },
  },
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
    { task: '@cf EtcdLock x20 (open session)', vs: 'etcd3 Lock x20', atMost: 1 / 1.3, note: 'issue 6: >= 1.3x throughput' },
    { task: '@cf EtcdLock handoff', vs: 'etcd put (1 write round trip)', group: HANDOFF, atMost: 2, note: 'issue 6: p50 <= 2 round trips' },
  ],
});
