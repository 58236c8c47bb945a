import { ClosedError, checkDuration, checkOptionsObject, invalidArgument, LeaseLostError } from '@cf/core';
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import {
  backendError,
  checkClient,
  deadline,
  type EtcdClient,
  isClientClosed,
  isTransient,
  type RawClient,
} from './internal/client.js';
import { leaseHex } from './internal/keys.js';
import type { LocalGate } from './internal/local-gate.js';
import { closeStream, WatchHub } from './internal/watch-hub.js';

/** Options of a {@link Session}. */
export interface SessionOptions {
  /**
   * Lease time-to-live in milliseconds: how long the session's keys outlive a crashed process.
   * At least 1000; etcd counts whole seconds, so it is rounded up. Default 60000, as etcd's recipe.
   */
  ttl?: number | undefined;
}

/** Default session ttl: 60 s, as etcd's Go `concurrency.NewSession`. */
export const DEFAULT_TTL = 60_000;

/**
 * Checks a ttl in milliseconds and converts it to etcd's whole seconds (rounded up).
 * @param value - the argument
 * @param name - its name
 * @returns seconds
 */
export function checkTtl(value: unknown, name = 'options.ttl'): number {
  if (value === undefined) return DEFAULT_TTL / 1000;
  checkDuration(value, name);
  if ((value as number) < 1000) {
    throw invalidArgument(
      'range',
      name,
      value,
      'at least 1000 ms (etcd leases last whole seconds; larger values are rounded up)',
    );
  }
  return Math.ceil((value as number) / 1000);
}

/** What the primitives need from a session; not part of the public API. */
export interface SessionCore {
  readonly session: Session;
  readonly raw: RawClient;
  readonly hub: WatchHub;
  readonly leaseId: string;
  readonly leaseHex: string;
  /** Granted ttl in ms. */
  readonly ttlMs: number;
  /** Deadline of one RPC, in ms. */
  readonly rpcMs: number;
  /** How often a waiter re-reads state in case its watch missed something, in ms. */
  readonly recheckMs: number;
  /** Why the session ended, or `undefined` while it is alive. */
  ended: unknown;
  /** Called once, synchronously, with the reason when the session ends (lost or closed). */
  readonly listeners: Set<(reason: unknown) => void>;
  /** Local gates by key prefix: requests of this process that share the session's keys. */
  readonly gates: Map<string, LocalGate>;
  /** Counter for keys unique within the session. */
  seq: number;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

let coreOf: (session: Session) => SessionCore;
let grant: (client: EtcdClient, raw: RawClient, seconds: number) => Promise<Session>;
const shared = new WeakMap<object, Map<number, Promise<Session>>>();

/**
 * The internals of a session, for the primitives of this package.
 * @param session - a session
 */
export function sessionCore(session: Session): SessionCore {
  return coreOf(session);
}

/**
 * The shared session of a checked client and ttl: one per client and ttl, created on first use
 * and replaced after it ended.
 * @param client - the client as the user passed it (the map key)
 * @param raw - its raw services
 * @param seconds - ttl in seconds
 */
export async function sharedSession(client: EtcdClient, raw: RawClient, seconds: number): Promise<Session> {
  let byTtl = shared.get(client);
  if (byTtl === undefined) shared.set(client, (byTtl = new Map()));
  for (;;) {
    let pending = byTtl.get(seconds);
    if (pending === undefined) {
      const created = grant(client, raw, seconds);
      byTtl.set(seconds, created);
      created.catch(() => {
        if (byTtl.get(seconds) === created) byTtl.delete(seconds);
      });
      pending = created;
    }
    const session = await pending;
    if (session.active) return session;
    if (byTtl.get(seconds) === pending) byTtl.delete(seconds);
  }
}

/**
 * One etcd lease kept alive for as long as the session is open, as the Go client's
 * `concurrency.Session`. Locks, elections and other primitives put their keys on the session's
 * lease, so a crashed process's keys disappear after the ttl.
 *
 * The keep-alive is sent every ttl/3 on one stream. The session counts as lost as soon as it can
 * no longer be sure the lease lives: etcd answered that it is gone (revoked, expired), or no
 * keep-alive has been acknowledged for a whole ttl (measured from the send of the last
 * acknowledged one, so never later than etcd's own expiry). Then `signal` aborts with a
 * `LeaseLostError`, every lease taken under the session is lost at the same moment, and every
 * waiter rejects.
 *
 * @example
 * ```ts
 * await using session = await Session.create(client, { ttl: 10_000 });
 * const lock = new EtcdLock(client, 'jobs', { session });
 * session.signal.addEventListener('abort', () => console.warn('session lost'));
 * ```
 */
export class Session implements AsyncDisposable {
  /** The etcd3 client. */
  readonly client: EtcdClient;
  /** The lease ID, in decimal as etcd3 returns it. */
  readonly leaseId: string;
  /** The granted ttl in milliseconds (etcd may grant more than asked: its minimum is about 1.5 election timeouts). */
  readonly ttl: number;
  readonly #core: SessionCore;
  readonly #controller = new AbortController();
  #closing: Promise<void> | undefined = undefined;
  #stream: KeepAliveStream | undefined = undefined;
  #sendTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stallTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #sentAt = 0;
  #retryDelay = 25;

  static {
    coreOf = (session) => session.#core;
    grant = (client, raw, seconds) => Session.#grant(client, raw, seconds);
  }

  private constructor(client: EtcdClient, raw: RawClient, leaseId: string, ttlSeconds: number, grantedAt: number) {
    this.client = client;
    this.leaseId = leaseId;
    this.ttl = ttlSeconds * 1000;
    this.#core = {
      session: this,
      raw,
      hub: WatchHub.of(raw),
      leaseId,
      leaseHex: leaseHex(leaseId),
      ttlMs: this.ttl,
      rpcMs: Math.min(Math.max(this.ttl, 1000), 10_000),
      recheckMs: Math.min(Math.max(this.ttl / 2, 500), 5000),
      ended: undefined,
      listeners: new Set(),
      gates: new Map(),
      seq: 0,
    };
    this.#extend(grantedAt, ttlSeconds);
    this.#openStream();
  }

  /**
   * Grants a lease and starts keeping it alive.
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param options - `ttl` in ms (default 60000, at least 1000, rounded up to whole seconds)
   * @returns the open session
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad client or ttl
   * @throws BackendError when etcd does not grant the lease
   * @example
   * ```ts
   * const session = await Session.create(new Etcd3({ hosts: '127.0.0.1:2379' }), { ttl: 5000 });
   * ```
   */
  static async create(client: EtcdClient, options?: SessionOptions): Promise<Session> {
    const raw = checkClient(client);
    checkOptionsObject(options, 'options');
    const seconds = checkTtl(options?.ttl);
    return Session.#grant(client, raw, seconds);
  }

  /**
   * The session that locks and elections created without `options.session` share: one per
   * client and ttl, created on first use and replaced after it is lost or closed.
   * @param client - an etcd3 client
   * @param options - `ttl` in ms (default 60000)
   * @returns an open session
   * @throws as {@link Session.create}
   * @example
   * ```ts
   * const session = await Session.shared(client);   // the one `new EtcdLock(client, name)` uses
   * ```
   */
  static async shared(client: EtcdClient, options?: SessionOptions): Promise<Session> {
    const raw = checkClient(client);
    checkOptionsObject(options, 'options');
    return sharedSession(client, raw, checkTtl(options?.ttl));
  }

  /**
   * Closes every shared session of `client` (revoking their leases).
   * @param client - an etcd3 client
   * @returns resolves when all are closed
   * @example
   * ```ts
   * await Session.closeShared(client); client.close();
   * ```
   */
  static async closeShared(client: EtcdClient): Promise<void> {
    const byTtl = shared.get(client);
    if (byTtl === undefined) return;
    shared.delete(client);
    const sessions = await Promise.allSettled(byTtl.values());
    await Promise.all(sessions.map((s) => (s.status === 'fulfilled' ? s.value.close().catch(() => {}) : undefined)));
  }

  static async #grant(client: EtcdClient, raw: RawClient, seconds: number): Promise<Session> {
    const sentAt = Date.now();
    let response: Awaited<ReturnType<RawClient['leaseClient']['leaseGrant']>>;
    try {
      response = await raw.leaseClient.leaseGrant({ TTL: seconds }, deadline(Math.min(seconds * 1000, 10_000)));
    } catch (error) {
      throw backendError('lease grant', error);
    }
    const granted = Number(response.TTL);
    return new Session(client, raw, response.ID, granted > 0 ? granted : seconds, sentAt);
  }

  /** Aborts when the session ends: `LeaseLostError` when lost, `ClosedError` when closed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** `true` while the lease is kept alive. */
  get active(): boolean {
    return this.#core.ended === undefined;
  }

  /** The lease ID in lowercase hex, as it appears in lock and election keys. */
  get leaseHex(): string {
    return this.#core.leaseHex;
  }

  /**
   * Stops the keep-alive and revokes the lease, which deletes every key of the session at once.
   * Leases taken under the session are lost; waiters reject with `ClosedError`. Idempotent.
   * @returns resolves when etcd revoked the lease (or it was already gone)
   * @throws BackendError when the revoke failed (the lease then expires after its ttl)
   * @example
   * ```ts
   * await session.close();
   * ```
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const wasAlive = this.#core.ended === undefined;
    this.#end(new ClosedError(`The etcd session ${this.#core.leaseHex} was closed`));
    if (!wasAlive) return (this.#closing = Promise.resolve());
    this.#closing = this.#core.raw.leaseClient.leaseRevoke({ ID: this.leaseId }, deadline(this.#core.rpcMs)).then(
      () => undefined,
      (error: unknown) => {
        // An unknown lease is already gone, which is what revoking wanted.
        if (/lease not found|EtcdLeaseInvalid/i.test(`${(error as Error)?.name} ${(error as Error)?.message}`)) return;
        throw backendError('lease revoke', error);
      },
    );
    return this.#closing;
  }

  /** Closes the session; used by `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #end(reason: unknown): void {
    const core = this.#core;
    if (core.ended !== undefined) return;
    core.ended = reason;
    for (const timer of [this.#sendTimer, this.#stallTimer, this.#expiryTimer])
      if (timer !== undefined) clearTimeout(timer);
    this.#sendTimer = this.#stallTimer = this.#expiryTimer = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) closeStream(stream);
    // Leases and waiters first, so that whoever listens to `signal` already sees them ended.
    const listeners = [...core.listeners];
    core.listeners.clear();
    for (const listener of listeners) listener(reason);
    for (const gate of [...core.gates.values()]) gate.rejectAll(reason);
    this.#controller.abort(reason);
  }

  #lose(message: string, cause?: unknown): void {
    const text = `The etcd session ${this.#core.leaseHex} was lost: ${message}`;
    this.#end(new LeaseLostError(text, `session ${this.#core.leaseHex}`, cause === undefined ? undefined : { cause }));
  }

  #extend(sentAt: number, ttlSeconds: number): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    // etcd renews from when it receives the keep-alive, which is after we sent it.
    const remaining = sentAt + ttlSeconds * 1000 - Date.now();
    this.#expiryTimer = setTimeout(
      () => this.#lose(`no keep-alive was acknowledged within the ttl (${this.ttl} ms)`),
      remaining,
    );
    this.#expiryTimer.unref?.();
  }

  #openStream(): void {
    if (this.#core.ended !== undefined) return;
    this.#core.raw.leaseClient.leaseKeepAlive().then(
      (stream) => {
        if (this.#core.ended !== undefined) {
          stream.on('error', () => {});
          closeStream(stream);
          return;
        }
        this.#stream = stream;
        stream.on('data', (response) => this.#onResponse(stream, response));
        stream.on('error', (error) => this.#onStreamError(stream, error));
        stream.on('end', () => this.#onStreamError(stream, new Error('keep-alive stream ended')));
        this.#send();
      },
      (error: unknown) => this.#onStreamError(undefined, error),
    );
  }

  #send(): void {
    const stream = this.#stream;
    if (stream === undefined) return;
    if (isClientClosed(this.#core.raw)) {
      this.#lose('the etcd3 client was closed');
      return;
    }
    this.#sentAt = Date.now();
    stream.write({ ID: this.leaseId });
    // No answer within a third of the ttl: the member is probably stuck; try another stream.
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      this.#onStreamError(stream, new Error('keep-alive not acknowledged'));
    }, this.ttl / 3);
    this.#stallTimer.unref?.();
  }

  #onResponse(stream: KeepAliveStream, response: ILeaseKeepAliveResponse): void {
    if (stream !== this.#stream) return;
    if (this.#stallTimer !== undefined) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
    }
    const ttl = Number(response.TTL);
    if (!(ttl > 0)) {
      this.#lose('etcd reports the lease expired or revoked');
      return;
    }
    this.#retryDelay = 25;
    this.#extend(this.#sentAt, ttl);
    this.#sendTimer = setTimeout(() => {
      this.#sendTimer = undefined;
      this.#send();
    }, this.ttl / 3);
    this.#sendTimer.unref?.();
  }

  #onStreamError(stream: KeepAliveStream | undefined, error: unknown): void {
    if (stream !== undefined) {
      if (stream !== this.#stream) return;
      this.#stream = undefined;
      closeStream(stream);
    }
    if (this.#core.ended !== undefined) return;
    if (!isTransient(error)) {
      this.#lose('the client failed', error);
      return;
    }
    for (const timer of [this.#sendTimer, this.#stallTimer]) if (timer !== undefined) clearTimeout(timer);
    this.#stallTimer = undefined;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryDelay * 2, Math.max(this.ttl / 6, 50));
    this.#sendTimer = setTimeout(() => {
      this.#sendTimer = undefined;
      this.#openStream();
    }, delay);
    this.#sendTimer.unref?.();
  }
}
