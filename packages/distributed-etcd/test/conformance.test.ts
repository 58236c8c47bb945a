import { describeLockConformance, lockConformanceCases } from '@cf/lock-conformance';
import { type EtcdCluster, startEtcd } from '@cf/test-servers/etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, it } from 'vitest';
import { EtcdLock, EtcdReadWriteLock, Session } from '../src/index.js';

let etcd: EtcdCluster | undefined;
let clients: Etcd3[] = [];
let next = 0;

// Handles on one resource alternate between two clients (two sessions), so exclusion is tested
// both between processes (etcd) and within one session (the local gate).
const client = (): Etcd3 => clients[next++ % clients.length]!;

const setup = async (): Promise<void> => {
  if (etcd !== undefined) return;
  etcd = await startEtcd({ dataRoot: '/dev/shm' });
  clients = [new Etcd3({ hosts: [...etcd.endpoints] }), new Etcd3({ hosts: [...etcd.endpoints] })];
};
// One etcd for the whole file: the suites' own hooks only start it; the file's afterAll stops it.
afterAll(async () => {
  for (const c of clients) {
    await Session.closeShared(c);
    c.close();
  }
  await etcd?.stop();
});
const shared = { setup, timing: { scale: 10 } };

describeLockConformance('EtcdLock', {
  ...shared,
  createLock: (resource) => new EtcdLock(client(), resource, { ttl: 10_000 }),
});

describeLockConformance('EtcdReadWriteLock.write', {
  ...shared,
  createLock: (resource) => new EtcdReadWriteLock(client(), resource, { ttl: 10_000 }).write,
});

// Readers share the lock by design, so the cases that need one handle to block another (exclusion,
// waiting, order, timeouts) cannot apply to the read side on its own; reader/writer exclusion is
// tested in read-write-lock.test.ts. These cases check the rest of the contract for readers.
const READ_SIDE = [
  'resources-independent',
  'lease-signal',
  'fencing-tokens',
  'invalid-options',
  'timeout-race',
  'pre-aborted',
  'signal-listeners',
];
describe('EtcdReadWriteLock.read: Lock conformance (cases that apply to a shared lock)', () => {
  const cases = lockConformanceCases({
    timing: { scale: 10 },
    createLock: (resource) => new EtcdReadWriteLock(client(), resource, { ttl: 10_000 }).read,
  }).filter((c) => READ_SIDE.includes(c.id));
  it('covers every listed case', () => {
    if (cases.length !== READ_SIDE.length) throw new Error(`found ${cases.map((c) => c.id).join(', ')}`);
  });
  for (const c of cases) {
    it(
      c.title,
      async () => {
        await setup();
        await c.run();
      },
      c.timeout + 30_000,
    );
  }
});
