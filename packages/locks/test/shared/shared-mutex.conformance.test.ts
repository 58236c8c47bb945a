import { ThreadRegistry } from '@cf/atomics';
import { describeLockConformance } from '@cf/lock-conformance';
import { SharedMutex } from '../../src/shared/shared-mutex.js';

// Handles on one resource share one region, as handles in different threads would: the first
// call creates the mutex, later calls rebuild it from the handle.
function handlesOn<T>(create: () => T, rebuild: (first: T) => T): (resource: string) => T {
  const first = new Map<string, T>();
  return (resource) => {
    const existing = first.get(resource);
    if (existing !== undefined) return rebuild(existing);
    const created = create();
    first.set(resource, created);
    return created;
  };
}

describeLockConformance('SharedMutex', {
  createLock: handlesOn(
    () => new SharedMutex(),
    (first) => SharedMutex.from(first.handle),
  ),
});

const registry = new ThreadRegistry({ slots: 4 });
describeLockConformance('SharedMutex (robust)', {
  createLock: handlesOn(
    () => new SharedMutex({ registry }),
    (first) => SharedMutex.from(first.handle),
  ),
});
