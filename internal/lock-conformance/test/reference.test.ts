import type { Lock } from '@cf/core';
import { describeLockConformance } from '@cf/lock-conformance';
import { afterAll, expect } from 'vitest';
import { flawedLocks, referenceLocks } from './locks.js';

// The suite passes against a tiny correct lock built on core's WaitQueue and BaseLease...
describeLockConformance('reference lock', { createLock: referenceLocks() });

// ...with its timing scaled and without the ordering promises (those cases are left out)...
describeLockConformance('reference lock (scale 3, no ordering promises)', {
  createLock: referenceLocks(),
  timing: { scale: 3 },
  fifo: false,
  priorities: false,
});

// ...and against the broken-lock test double with no flaw switched on, so that each flaw tested in
// catches-broken.test.ts is the only reason for the failure seen there.
describeLockConformance('flawed lock without flaws', { createLock: flawedLocks({}) });

// An asynchronous createLock (a distributed client connecting), with setup and teardown run once.
let setups = 0;
let teardowns = 0;
const create = referenceLocks();
describeLockConformance('reference lock behind async createLock', {
  setup: async () => {
    setups++;
  },
  teardown: async () => {
    teardowns++;
  },
  createLock: async (resource: string): Promise<Lock> => {
    if (setups !== 1) throw new Error('createLock was called before setup ran');
    await new Promise((resolve) => setImmediate(resolve));
    return create(resource);
  },
});

afterAll(() => {
  expect(setups).toBe(1);
  expect(teardowns).toBe(1);
});
