import { type EtcdCluster, type EtcdOptions, startEtcd } from '@cf/test-servers/etcd';
import { Etcd3, type IOptions } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { Session } from '../src/index.js';

/** Open stream counts of one client, observed at the gRPC layer, and a way to break them. */
export interface StreamCounts {
  readonly watch: number;
  readonly keepAlive: number;
  /** The open watch streams. */
  readonly watchStreams: Set<{ cancel(): void }>;
  /** While set, opening a new watch stream waits for this promise (to keep a broken stream down). */
  gate: Promise<void> | undefined;
}

interface Counted extends Etcd3 {
  readonly streams: StreamCounts;
}

function countStreams(client: Etcd3): StreamCounts {
  const counts: StreamCounts = { watch: 0, keepAlive: 0, watchStreams: new Set(), gate: undefined };
  const mutable = counts as { watch: number; keepAlive: number };
  const wrap = (target: Record<string, unknown>, method: string, field: 'watch' | 'keepAlive'): void => {
    const original = (target[method] as (...args: unknown[]) => Promise<NodeJS.EventEmitter & { cancel(): void }>).bind(
      target,
    );
    target[method] = async (...args: unknown[]) => {
      if (field === 'watch') await counts.gate;
      const stream = await original(...args);
      mutable[field]++;
      if (field === 'watch') counts.watchStreams.add(stream);
      let open = true;
      stream.on('status', () => {
        if (open) {
          open = false;
          mutable[field]--;
          counts.watchStreams.delete(stream);
        }
      });
      return stream;
    };
  };
  wrap(client.watchClient as unknown as Record<string, unknown>, 'watch', 'watch');
  wrap(client.leaseClient as unknown as Record<string, unknown>, 'leaseKeepAlive', 'keepAlive');
  return counts;
}

/**
 * Starts etcd for one test file and closes every client made with `client()` afterwards.
 * @param options - cluster options
 */
export function useEtcd(options: EtcdOptions = {}): {
  readonly etcd: EtcdCluster;
  client(extra?: Partial<IOptions>): Counted;
} {
  let etcd: EtcdCluster | undefined;
  const clients: Etcd3[] = [];
  beforeAll(async () => {
    etcd = await startEtcd({ dataRoot: '/dev/shm', ...options });
  });
  afterAll(async () => {
    for (const c of clients) {
      await Session.closeShared(c).catch(() => {});
      c.close();
    }
    await etcd?.stop();
  });
  return {
    get etcd() {
      if (etcd === undefined) throw new Error('etcd not started');
      return etcd;
    },
    client(extra: Partial<IOptions> = {}) {
      if (etcd === undefined) throw new Error('etcd not started');
      const c = new Etcd3({ ...extra, hosts: extra.hosts ?? [...etcd.endpoints] });
      const streams = countStreams(c);
      Object.defineProperty(c, 'streams', { value: streams });
      clients.push(c);
      return c as Counted;
    },
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds or `ms` passed. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`${what} did not hold within ${ms} ms`);
    await sleep(10);
  }
}

let unique = 0;
/** A name no other test uses. */
export const freshName = (base = 'lock'): string => `${base}-${process.pid}-${++unique}`;
