/**
 * Starts real etcd members on free loopback ports for tests, benchmarks and the demo, and injects
 * faults into them (kill -9, SIGSTOP/SIGCONT, restart). Data directories live in a fresh temporary
 * folder that `stop()` removes. Never touches an etcd it did not start.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd({ members: 3 });
 * const client = new Etcd3({ hosts: etcd.endpoints });
 * await etcd.pause(await etcd.leader());
 * await etcd.stop();
 * ```
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** Where the etcd binaries are looked up when `ETCD_BIN` / `ETCDCTL_BIN` are not set. */
const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';
const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? 'etcdctl';

/** How to start the cluster. */
export interface EtcdOptions {
  /** Number of members: 1 (default) or 3 for fault tests. */
  readonly members?: 1 | 3 | 5;
  /** Raft heartbeat interval in ms (etcd default 100). */
  readonly heartbeatMs?: number;
  /** Raft election timeout in ms (etcd default 1000). */
  readonly electionMs?: number;
  /** Parent folder of the data directories (default: the OS temp folder). `/dev/shm` makes fsync free. */
  readonly dataRoot?: string;
  /** How long to wait for the cluster to become healthy (default 20 s). */
  readonly startTimeoutMs?: number;
  /** Extra command-line flags for every member. */
  readonly extraArgs?: readonly string[];
}

/** One etcd process. */
export interface EtcdMember {
  readonly index: number;
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `127.0.0.1:<clientPort>`, the form etcd3's `hosts` and etcdctl's `--endpoints` accept. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The running process, or `undefined` while the member is killed. */
  readonly process: ChildProcess | undefined;
  /** `true` while stopped with SIGSTOP. */
  readonly paused: boolean;
}

/** What `etcdctl` printed. */
export interface EtcdctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running single member or cluster. */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client endpoints of every member (`127.0.0.1:port`). */
  readonly endpoints: readonly string[];
  /** Kills a member with SIGKILL (default) or another signal and waits until it has exited. */
  kill(member: number, signal?: NodeJS.Signals): Promise<void>;
  /** Stops a member with SIGSTOP: its sockets stay open but it answers nothing. */
  pause(member: number): Promise<void>;
  /** Continues a member stopped with `pause`. */
  resume(member: number): Promise<void>;
  /** Starts a killed member again on the same ports and data directory, and waits until healthy. */
  restart(member: number): Promise<void>;
  /** Index of the current raft leader among the running, unpaused members. */
  leader(timeoutMs?: number): Promise<number>;
  /** Resolves when every running, unpaused member reports healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Runs `etcdctl` (ETCDCTL_API=3) against the running members and collects its output. */
  etcdctl(
    args: readonly string[],
    options?: { timeoutMs?: number; members?: readonly number[] },
  ): Promise<EtcdctlResult>;
  /** Spawns a long-running `etcdctl` (e.g. `lock`, `elect`) with piped output; the caller ends it. */
  spawnEtcdctl(args: readonly string[], options?: { members?: readonly number[] }): ChildProcess;
  /** Kills every member (and every etcdctl spawned here) and removes the data directories. */
  stop(): Promise<void>;
}

/**
 * Whether the `etcd` and `etcdctl` binaries can be run here.
 * @returns `true` when both answer `--version`
 */
export function etcdAvailable(): boolean {
  try {
    execFileSync(ETCD_BIN, ['--version'], { stdio: 'ignore', timeout: 5000 });
    execFileSync(ETCDCTL_BIN, ['version'], {
      stdio: 'ignore',
      timeout: 5000,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return true;
  } catch {
    return false;
  }
}

interface MutableMember {
  index: number;
  name: string;
  clientPort: number;
  peerPort: number;
  endpoint: string;
  dataDir: string;
  process: ChildProcess | undefined;
  paused: boolean;
  log: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crashed test run must not leave etcd processes behind.
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGCONT');
          c.kill('SIGKILL');
        } catch {}
      }
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a single etcd member or a cluster on free loopback ports and waits until it is healthy.
 * @param options - member count, raft timings, data folder
 * @returns the running cluster; call `stop()` when done
 * @throws Error when etcd is missing or does not become healthy in time
 * @example
 * ```ts
 * const etcd = await startEtcd();
 * try { ... } finally { await etcd.stop(); }
 * ```
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const root = await mkdtemp(join(options.dataRoot ?? tmpdir(), 'cf-etcd-'));
  const token = `cf-${process.pid}-${Date.now().toString(36)}`;
  const spawned = new Set<ChildProcess>();
  let stopped = false;

  for (let attempt = 0; ; attempt++) {
    const members: MutableMember[] = [];
    const ports = new Set<number>();
    while (ports.size < count * 2) ports.add(await freePort());
    const list = [...ports];
    for (let i = 0; i < count; i++) {
      const clientPort = list[2 * i]!;
      members.push({
        index: i,
        name: `m${i}`,
        clientPort,
        peerPort: list[2 * i + 1]!,
        endpoint: `127.0.0.1:${clientPort}`,
        dataDir: join(root, `m${i}-${attempt}`),
        process: undefined,
        paused: false,
        log: '',
      });
    }
    const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');

    const launch = (m: MutableMember, state: 'new' | 'existing'): void => {
      const args = [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${m.clientPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        token,
        '--logger',
        'zap',
        '--log-level',
        'error',
        ...(options.heartbeatMs === undefined ? [] : ['--heartbeat-interval', String(options.heartbeatMs)]),
        ...(options.electionMs === undefined ? [] : ['--election-timeout', String(options.electionMs)]),
        ...(options.extraArgs ?? []),
      ];
      const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        m.log = (m.log + chunk).slice(-4000);
      });
      child.once('exit', () => {
        if (m.process === child) m.process = undefined;
      });
      child.on('error', () => {});
      track(child);
      spawned.add(child);
      m.process = child;
      m.paused = false;
    };

    const healthy = async (m: MutableMember): Promise<boolean> => {
      if (m.process === undefined || m.paused) return false;
      try {
        const response = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await response.json()) as { health?: string };
        return body.health === 'true';
      } catch {
        return false;
      }
    };

    const waitHealthy = async (timeoutMs = options.startTimeoutMs ?? 20_000): Promise<void> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const running = members.filter((m) => m.process !== undefined && !m.paused);
        const states = await Promise.all(running.map(healthy));
        if (running.length > 0 && states.every(Boolean)) return;
        if (Date.now() > until) {
          const logs = members.map((m) => `${m.name}: ${m.log.trim().slice(-600)}`).join('\n');
          throw new Error(`etcd did not become healthy within ${timeoutMs} ms\n${logs}`);
        }
        await sleep(50);
      }
    };

    const exited = (child: ChildProcess): Promise<void> =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', () => resolve()));

    for (const m of members) launch(m, 'new');
    try {
      await waitHealthy();
    } catch (error) {
      for (const m of members) m.process?.kill('SIGKILL');
      await Promise.all(members.map((m) => (m.process ? exited(m.process) : undefined)));
      // A port taken between freePort() and etcd's bind is the usual cause: retry on new ports.
      if (attempt < 2) continue;
      await rm(root, { recursive: true, force: true });
      throw error;
    }

    const member = (index: number): MutableMember => {
      const m = members[index];
      if (m === undefined) throw new RangeError(`no etcd member ${index} (have ${members.length})`);
      return m;
    };

    const ctlEnv = { ...process.env, ETCDCTL_API: '3' };
    const endpointsOf = (indexes?: readonly number[]): string =>
      (indexes ?? members.map((m) => m.index))
        .map(member)
        .filter((m) => m.process !== undefined && !m.paused)
        .map((m) => m.endpoint)
        .join(',');

    const cluster: EtcdCluster = {
      members,
      endpoints: members.map((m) => m.endpoint),
      async kill(index, signal = 'SIGKILL') {
        const m = member(index);
        const child = m.process;
        if (child === undefined) return;
        if (m.paused) child.kill('SIGCONT');
        child.kill(signal);
        await exited(child);
        m.process = undefined;
        m.paused = false;
      },
      async pause(index) {
        const m = member(index);
        if (m.process === undefined || m.paused) return;
        m.process.kill('SIGSTOP');
        m.paused = true;
      },
      async resume(index) {
        const m = member(index);
        if (m.process === undefined || !m.paused) return;
        m.process.kill('SIGCONT');
        m.paused = false;
      },
      async restart(index) {
        const m = member(index);
        if (m.process !== undefined) await cluster.kill(index);
        launch(m, 'existing');
        await waitHealthy();
      },
      async leader(timeoutMs = 10_000) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const running = members.filter((m) => m.process !== undefined && !m.paused);
          const answers = await Promise.all(
            running.map(async (m) => {
              try {
                const response = await fetch(`http://127.0.0.1:${m.clientPort}/v3/maintenance/status`, {
                  method: 'POST',
                  body: '{}',
                  signal: AbortSignal.timeout(1000),
                });
                const body = (await response.json()) as { header?: { member_id?: string }; leader?: string };
                return { m, id: body.header?.member_id, leader: body.leader };
              } catch {
                return undefined;
              }
            }),
          );
          for (const answer of answers) {
            if (answer === undefined || answer.leader === undefined || answer.leader === '0') continue;
            const found = answers.find((a) => a !== undefined && a.id === answer.leader);
            if (found !== undefined) return found.m.index;
          }
          if (Date.now() > until) throw new Error(`no etcd leader within ${timeoutMs} ms`);
          await sleep(50);
        }
      },
      waitHealthy,
      etcdctl(args, ctlOptions = {}) {
        return new Promise((resolve, reject) => {
          const child = spawn(ETCDCTL_BIN, ['--endpoints', endpointsOf(ctlOptions.members), ...args], {
            env: ctlEnv,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          track(child);
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
          child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
          const timer = setTimeout(() => child.kill('SIGKILL'), ctlOptions.timeoutMs ?? 15_000);
          child.once('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
          child.once('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
          });
        });
      },
      spawnEtcdctl(args, ctlOptions = {}) {
        const child = spawn(ETCDCTL_BIN, ['--endpoints', endpointsOf(ctlOptions.members), ...args], {
          env: ctlEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.on('error', () => {});
        track(child);
        spawned.add(child);
        return child;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        const children = [...spawned];
        for (const child of children) {
          if (child.exitCode !== null || child.signalCode !== null) continue;
          try {
            child.kill('SIGCONT');
            child.kill('SIGKILL');
          } catch {}
        }
        await Promise.all(children.map(exited));
        for (const m of members) m.process = undefined;
        await rm(root, { recursive: true, force: true });
      },
    };
    return cluster;
  }
}
