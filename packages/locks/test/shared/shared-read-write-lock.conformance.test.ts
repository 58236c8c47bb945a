import { describeLockConformance, lockConformanceCases } from '@cf/lock-conformance';
import { describe, it } from 'vitest';
import { SharedReadWriteLock } from '../../src/shared/shared-read-write-lock.js';

// Handles on one resource share one region, as handles in different threads would.
function sides(pick: (lock: SharedReadWriteLock) => SharedReadWriteLock['read']) {
  const first = new Map<string, SharedReadWriteLock>();
  return (resource: string) => {
    const existing = first.get(resource);
    if (existing !== undefined) return pick(SharedReadWriteLock.from(existing.handle));
    const created = new SharedReadWriteLock();
    first.set(resource, created);
    return pick(created);
  };
}

describeLockConformance('SharedReadWriteLock write side', { createLock: sides((lock) => lock.write) });

// The read side is shared by design: cases that need a second reader to wait for the first
// (exclusion, ordering and timing under contention) cannot apply. Those are covered against a
// writer in shared-read-write-lock.test.ts.
const NEEDS_EXCLUSION_BETWEEN_READERS = new Set([
  'mutual-exclusion',
  'acquire-waits',
  'handoff',
  'try-acquire',
  'order-fifo',
  'order-priority',
  'timeout',
  'timeout-zero',
  'timeout-race',
  'abort',
  'bulk-abort',
  // These check that a second handle cannot take the lock while the first holds it.
  'abort-after-grant',
  'release-idempotent',
  'await-using',
]);

describe('SharedReadWriteLock read side: Lock conformance (cases that hold for a shared lock)', () => {
  for (const check of lockConformanceCases({ createLock: sides((lock) => lock.read) })) {
    if (NEEDS_EXCLUSION_BETWEEN_READERS.has(check.id)) continue;
    it(`${check.group}: ${check.title}`, () => check.run(), check.timeout);
  }
});
