import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadline } from '../src/internal/client.js';
import { sleep, useEtcd } from './helpers.js';

// A member that stopped answering, as a SIGSTOPped etcd looks from a client: connections are
// accepted and then nothing ever comes back.
let silent: Server;
let silentPort = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('per-try deadlines', () => {
  const env = useEtcd();

  it('each read of the option gives a deadline that far from that moment', async () => {
    const options = deadline(200);
    const first = options.deadline!;
    expect(first - Date.now()).toBeGreaterThan(150);
    await sleep(50);
    expect(options.deadline! - first).toBeGreaterThanOrEqual(40);
  });

  it("etcd3's own retry after a silent member gets a fresh deadline on a live one", async () => {
    // Written through live members only: a call without a deadline that picks the silent one waits forever.
    await env.client().put('retry-probe').value('1');
    const client = env.client({ hosts: [...env.etcd.endpoints, `127.0.0.1:${silentPort}`] });
    // etcd3 picks a member per call at random and retries a call that failed with a
    // recoverable error on another one, with the same options. About half of these calls try the
    // silent member first; each must still succeed on the live member within its own deadline.
    const failures: unknown[] = [];
    for (let i = 0; i < 12; i++) {
      const started = performance.now();
      try {
        const response = await client.kv.range({ key: Buffer.from('retry-probe') }, deadline(300));
        expect(response.kvs[0]?.value.toString()).toBe('1');
      } catch (error) {
        failures.push(error);
      }
      expect(performance.now() - started).toBeLessThan(300 * 3 + 500);
    }
    expect(failures).toEqual([]);
  });
});
