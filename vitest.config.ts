import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// vitest 5's reporter calls Map.groupBy (Node 21+) when a test fails; without this, Node 20 would
// crash the reporter and hide which test failed.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>();
      let index = 0;
      for (const item of items) {
        const k = key(item, index++);
        const group = groups.get(k);
        if (group === undefined) groups.set(k, [item]);
        else group.push(item);
      }
      return groups;
    },
  });
}

const packages = ['core', 'atomics', 'locks', 'sync', 'distributed-redis', 'distributed-etcd'];

// Tests import sibling packages from source so a test run never depends on a stale build.
const alias = Object.fromEntries(
  packages.map((name) => [`@cf/${name}`, fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      ...packages.map((name) => ({
        resolve: { alias },
        test: {
          name,
          root: `packages/${name}`,
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      })),
      {
        resolve: { alias },
        test: { name: 'lock-conformance', root: 'internal/lock-conformance', include: ['test/**/*.test.ts'] },
      },
    ],
  },
});
