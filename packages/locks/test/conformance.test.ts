import type { Lock } from '@cf/core';
import { describeLockConformance, lockConformanceCases } from '@cf/lock-conformance';
import { describe, it } from 'vitest';
import { LockManager, Mutex, ReadWriteLock, ReentrantMutex } from '../src/index.js';

/** The same object for every call with one resource name: handles on one lock. */
function perResource<T>(make: (resource: string) => T): (resource: string) => T {
  const made = new Map<string, T>();
  return (resource) => {
    let value = made.get(resource);
    if (value === undefined) made.set(resource, (value = make(resource)));
    return value;
  };
}

/** The first handle on a resource is `first`, every later handle is `rest` (and so on per resource). */
function firstThen(first: (resource: string) => Lock, rest: (resource: string) => Lock): (resource: string) => Lock {
  const seen = new Set<string>();
  return (resource) => {
    if (seen.has(resource)) return rest(resource);
    seen.add(resource);
    return first(resource);
  };
}

// Cases that put several concurrent acquisitions on one handle: on a shared (read) handle those
// acquisitions share the lock by design, so these cases cannot apply to a shared side.
const ONE_HOLDER_PER_HANDLE = new Set(['mutual-exclusion', 'handoff', 'order-fifo', 'order-priority', 'bulk-abort']);

/**
 * The contract for a shared side: the first handle on each resource is the shared side, every
 * other handle the exclusive side, so each check runs a reader against writers (the reader
 * holding while writers wait, and waiting while a writer holds).
 */
function describeSharedAmongExclusive(name: string, sides: (resource: string) => [Lock, Lock]): void {
  const cases = lockConformanceCases({
    createLock: firstThen(
      (resource) => sides(resource)[0],
      (resource) => sides(resource)[1],
    ),
  }).filter((c) => !ONE_HOLDER_PER_HANDLE.has(c.id));
  describe(`${name}: Lock conformance (cases with one holder per handle)`, () => {
    for (const c of cases) it(`${c.group}: ${c.title}`, () => c.run(), c.timeout);
  });
}

describeLockConformance('Mutex', { createLock: perResource((name) => new Mutex({ name })) });

describeLockConformance('Mutex with a default hold limit', {
  createLock: perResource((name) => new Mutex({ name, defaultHoldTimeout: 60_000 })),
});

// Each acquisition through the Lock contract is its own owner (reentrancy needs an owner that
// recognises itself, which the contract has no way to name): the reentrant mutex must then
// behave exactly as a mutex. Reentrancy itself is tested in reentrant-mutex.test.ts.
const reentrant = perResource((name) => new ReentrantMutex({ name }));
describeLockConformance('ReentrantMutex (an owner per acquisition)', {
  createLock: (resource) => {
    const mutex = reentrant(resource);
    return {
      acquire: (options) => mutex.forOwner(Symbol('acquisition')).acquire(options),
      tryAcquire: () => mutex.tryAcquire({ owner: Symbol('acquisition') }),
    };
  },
});

for (const policy of ['write-preferring', 'read-preferring', 'fair'] as const) {
  const locks = perResource((name) => new ReadWriteLock({ name, policy }));
  describeLockConformance(`ReadWriteLock write side (${policy})`, {
    createLock: (resource) => locks(resource).write,
  });
  const mixed = perResource((name) => new ReadWriteLock({ name, policy }));
  describeSharedAmongExclusive(`ReadWriteLock read side among writers (${policy})`, (resource) => {
    const lock = mixed(resource);
    return [lock.read, lock.write];
  });
}

const manager = new LockManager();
describeLockConformance('LockManager exclusive', { createLock: (resource) => manager.lock(resource) });
describeSharedAmongExclusive('LockManager shared among exclusive', (resource) => [
  manager.lock(resource, { mode: 'shared' }),
  manager.lock(resource),
]);

const external = perResource((name) => new Mutex({ name }));
const managerWithFactory = new LockManager({ createLock: (name) => external(name) });
describeLockConformance('LockManager with createLock', { createLock: (resource) => managerWithFactory.lock(resource) });
