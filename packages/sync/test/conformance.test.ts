import { semaphoreAsLock } from '@cf/core';
import { describeLockConformance } from '@cf/lock-conformance';
import { Semaphore } from '@cf/sync';

// The suite asks for the same resource several times and expects handles on one lock.
function registry(create: (name: string) => Semaphore): (resource: string) => Semaphore {
  const semaphores = new Map<string, Semaphore>();
  return (resource) => {
    let semaphore = semaphores.get(resource);
    if (semaphore === undefined) semaphores.set(resource, (semaphore = create(resource)));
    return semaphore;
  };
}

const single = registry((name) => new Semaphore(1, { name }));
describeLockConformance('Semaphore(1) through semaphoreAsLock', {
  createLock: (resource) => semaphoreAsLock(single(resource)),
});

// Weighted: two permits per lease of a three-permit semaphore exclude each other too.
const weighted = registry((name) => new Semaphore(3, { name }));
describeLockConformance('Semaphore(3), 2 permits per lease', {
  createLock: (resource) => semaphoreAsLock(weighted(resource), 2),
});
