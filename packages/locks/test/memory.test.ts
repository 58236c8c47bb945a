import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LockManager, Mutex } from '../src/index.js';

// A real collector, without needing `node --expose-gc` on the test runner.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('memory', () => {
  it('an idle Mutex costs at most 80 heap bytes (96 once its generated name exists)', () => {
    const count = 100_000;
    const mutexes: Mutex[] = new Array(count).fill(undefined);
    const before = heapUsed();
    for (let i = 0; i < count; i++) mutexes[i] = new Mutex();
    const fresh = (heapUsed() - before) / count;
    for (const mutex of mutexes) mutex.tryAcquireSync()!.release();
    const used = (heapUsed() - before) / count;
    expect(mutexes.length).toBe(count);
    // About 48 bytes: three fields. After its first acquisition an unnamed mutex also holds its
    // generated name (`mutex#123456`, one short string of 24 to 32 bytes).
    expect(fresh).toBeLessThanOrEqual(80);
    expect(used).toBeLessThanOrEqual(96);
  });

  it('a LockManager returns to its starting heap after 1,000,000 distinct names', async () => {
    const manager = new LockManager();
    // Warm up the code paths so compiled code does not count as growth.
    for (let i = 0; i < 10_000; i++) (await manager.acquire(`warm-${i}`)).release();
    const before = heapUsed();
    for (let i = 0; i < 1_000_000; i++) (await manager.acquire(`name-${i}`)).release();
    const after = heapUsed();
    expect(manager.size).toBe(0);
    // Zero bytes per idle name: allow 1 MB of noise against about 100 MB if entries leaked.
    expect(after - before).toBeLessThan(1_000_000);
  }, 120_000);

  it('a LockManager costs at most 200 bytes per held name', async () => {
    const manager = new LockManager();
    const count = 100_000;
    const names = Array.from({ length: count }, (_, i) => `held-${i}`);
    const leases = new Array(count).fill(undefined);
    const before = heapUsed();
    for (let i = 0; i < count; i++) leases[i] = await manager.acquire(names[i]!);
    const perName = (heapUsed() - before) / count;
    expect(manager.size).toBe(count);
    expect(perName).toBeLessThanOrEqual(200);
    for (const lease of leases) lease.release();
    expect(manager.size).toBe(0);
  }, 60_000);
});
