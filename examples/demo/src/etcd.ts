// @cf/distributed-etcd at work: three candidate processes campaign in one etcd election; the
// leader is killed with SIGKILL and another takes over once the dead one's lease expires; then the
// new leader resigns and the last one takes over at once, woken by its watch. Every claim printed
// is checked; a broken invariant throws. Needs the etcd binary; without it the demo says how to
// get it and returns.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EtcdElection, Session } from '@cf/distributed-etcd';
import { type EtcdCluster, etcdAvailable, startEtcd } from '@cf/test-servers/etcd';
import { Etcd3 } from 'etcd3';

const TTL = 2000;
const ELECTION = 'demo-leader';
const NAMES = ['candidate-a', 'candidate-b', 'candidate-c'] as const;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`etcd demo: ${message}`);
}

interface Candidate {
  readonly name: string;
  readonly process: ChildProcess;
  readonly events: Array<{ event: string; token?: string }>;
  alive: boolean;
}

function startCandidate(hosts: string, name: string): Candidate {
  const script = fileURLToPath(new URL('./etcd-candidate.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, hosts, ELECTION, name, String(TTL)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const candidate: Candidate = { name, process: child, events: [], alive: true };
  child.once('exit', () => (candidate.alive = false));
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') candidate.events.push(JSON.parse(line) as { event: string });
  });
  return candidate;
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    check(Date.now() < deadline, `${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs the demo; resolves after printing, throws when an invariant fails. */
export async function runEtcdDemo(): Promise<void> {
  if (!etcdAvailable()) {
    console.log('etcd is not installed here; this section needs the etcd and etcdctl binaries:');
    console.log('  Debian/Ubuntu: sudo apt-get install etcd-server etcd-client');
    console.log(
      '  otherwise: https://etcd.io/docs/latest/install/ (put etcd and etcdctl on PATH, or set ETCD_BIN / ETCDCTL_BIN)',
    );
    return;
  }
  let etcd: EtcdCluster | undefined;
  const candidates: Candidate[] = [];
  const client = (): Etcd3 => new Etcd3({ hosts: [...etcd!.endpoints] });
  let observerClient: Etcd3 | undefined;
  const controller = new AbortController();
  try {
    etcd = await startEtcd();
    console.log(
      `started etcd on ${etcd.endpoints.join(', ')}; ${NAMES.length} processes campaign for "${ELECTION}" (ttl ${TTL} ms)`,
    );
    observerClient = client();
    const observed: Array<string | undefined> = [];
    const observing = (async () => {
      for await (const leader of new EtcdElection(observerClient!, ELECTION).observe({ signal: controller.signal })) {
        observed.push(leader);
      }
    })();
    const hosts = etcd.endpoints.join(',');
    for (const name of NAMES) candidates.push(startCandidate(hosts, name));
    const leading = (): Candidate[] => candidates.filter((c) => c.alive && c.events.some((e) => e.event === 'leading'));

    await until(() => leading().length === 1, 20_000, 'a first leader');
    const first = leading()[0]!;
    const firstToken = BigInt(first.events.find((e) => e.event === 'leading')!.token!);
    await until(() => observed.at(-1) === first.name, 5000, 'the observer seeing the first leader');
    console.log(`  leader: ${first.name} (token ${firstToken}); the others wait, each watching one key`);
    check(leading().length === 1, 'more than one process believes it leads');

    const killedAt = performance.now();
    first.process.kill('SIGKILL');
    await until(() => !first.alive, 5000, `${first.name} exiting`);
    console.log(`  kill -9 ${first.name}: its lease is no longer kept alive`);
    await until(() => leading().length === 1, TTL + 5000, 'a leader after the failover');
    const second = leading()[0]!;
    const failover = performance.now() - killedAt;
    const secondToken = BigInt(second.events.find((e) => e.event === 'leading')!.token!);
    check(second !== first, 'the killed process still leads');
    check(secondToken > firstToken, `fencing token went from ${firstToken} to ${secondToken}`);
    check(failover < TTL + 3000, `failover took ${failover.toFixed(0)} ms with a ${TTL} ms ttl`);
    console.log(
      `  leader: ${second.name} after ${(failover / 1000).toFixed(1)} s, when the dead lease expired (token ${secondToken})`,
    );

    const resignAt = performance.now();
    second.process.kill('SIGTERM');
    await until(() => !second.alive, 5000, `${second.name} resigning and exiting`);
    await until(() => leading().length === 1, 5000, 'a leader after the resignation');
    const third = leading()[0]!;
    const handoff = performance.now() - resignAt;
    check(third !== first && third !== second, 'a process that left leads again');
    console.log(
      `  ${second.name} resigned; leader: ${third.name} after ${handoff.toFixed(0)} ms (woken by its watch, no polling)`,
    );

    await until(() => observed.at(-1) === third.name, 5000, 'the observer seeing the last leader');
    const sequence = observed.filter((v): v is string => v !== undefined);
    check(
      sequence.join() === [first.name, second.name, third.name].join(),
      `observed leaders ${sequence.join(' -> ')}, expected ${first.name} -> ${second.name} -> ${third.name}`,
    );
    console.log(`  observe() saw: ${sequence.join(' -> ')}`);
    controller.abort();
    await observing;
  } finally {
    controller.abort();
    for (const candidate of candidates) candidate.process.kill('SIGKILL');
    if (observerClient !== undefined) {
      await Session.closeShared(observerClient).catch(() => {});
      observerClient.close();
    }
    await etcd?.stop();
  }
}
