import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
        test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
      })),
      {
        resolve: { alias },
        test: { name: 'lock-conformance', root: 'internal/lock-conformance', include: ['test/**/*.test.ts'] },
      },
    ],
  },
});
