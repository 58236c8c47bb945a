// The @cf demo: each section shows one package at work and checks what it prints; a broken
// invariant throws and the demo exits non-zero.
import { runCoreDemo } from './core.ts';
import { runEtcdDemo } from './etcd.ts';
import { runLocksDemo } from './locks.ts';
import { runRedisDemo } from './redis.ts';
import { runSharedDemo } from './shared.ts';
import { runSyncDemo } from './sync.ts';

interface Section {
  readonly title: string;
  readonly run: () => Promise<void>;
}

const sections: Section[] = [
  { title: '@cf/core: the wait queue, priorities, timeouts, aborts', run: runCoreDemo },
  { title: '@cf/locks: a bank-transfer race, and a LockManager with priorities and a timeout', run: runLocksDemo },
  { title: '@cf/sync: a barrier of worker tasks and a weighted semaphore', run: runSyncDemo },
  {
    title: '@cf/atomics and Shared*: a worker pool sharing a SharedMutex counter and an SPSC channel',
    run: runSharedDemo,
  },
  { title: '@cf/distributed-redis: two processes sharing a Redis lock, with fencing tokens', run: runRedisDemo },
  { title: '@cf/distributed-etcd: an election among three processes, and a failover', run: runEtcdDemo },
];

for (const section of sections) {
  console.log(`\n=== ${section.title}`);
  await section.run();
}
console.log('\nAll demo sections passed their checks.');
