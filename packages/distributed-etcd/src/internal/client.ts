import { BackendError, invalidArgument } from '@cf/core';
import type {
  ICompare,
  IDeleteRangeResponse,
  IDuplexStream,
  ILeaseGrantResponse,
  ILeaseKeepAliveRequest,
  ILeaseKeepAliveResponse,
  IRangeRequest,
  IRangeResponse,
  ITxnRequest,
  ITxnResponse,
  IWatchRequest,
  IWatchResponse,
  Namespace,
} from 'etcd3';

/**
 * The parts of an etcd3 client this package calls: the raw gRPC services. Checked by shape, so
 * two installed copies of etcd3 both work and nothing imports etcd3 at run time.
 */
export interface RawClient {
  readonly kv: {
    range(req: IRangeRequest, options?: CallOptions): Promise<IRangeResponse>;
    txn(req: ITxnRequest, options?: CallOptions): Promise<ITxnResponse>;
    deleteRange(req: { key?: Buffer; range_end?: Buffer }, options?: CallOptions): Promise<IDeleteRangeResponse>;
  };
  readonly leaseClient: {
    leaseGrant(req: { TTL?: number | string }, options?: CallOptions): Promise<ILeaseGrantResponse>;
    leaseRevoke(req: { ID?: number | string }, options?: CallOptions): Promise<unknown>;
    leaseKeepAlive(options?: CallOptions): Promise<IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>>;
  };
  readonly watchClient: {
    watch(options?: CallOptions): Promise<IDuplexStream<IWatchRequest, IWatchResponse>>;
  };
  /** The namespace prefix of an etcd3 `Namespace`; raw calls bypass it, so keys get it from us. */
  readonly prefix?: Buffer;
}

/** gRPC call options we pass: only a deadline. */
export interface CallOptions {
  deadline?: number;
}

/** The etcd3 client type users pass: an `Etcd3` or one of its namespaces. */
export type EtcdClient = Namespace;

const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  typeof value === 'object' &&
  value !== null &&
  names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function');

/**
 * Checks that `value` is an etcd3 client (an `Etcd3` or a `Namespace` of one).
 * @param value - the argument
 * @param name - its name, for the message
 * @returns the client's raw services
 * @throws TypeError (`ERR_CF_INVALID_ARG`) otherwise
 */
export function checkClient(value: unknown, name = 'client'): RawClient {
  const client = value as RawClient;
  if (
    typeof value !== 'object' ||
    value === null ||
    !hasMethods(client.kv, ['range', 'txn', 'deleteRange']) ||
    !hasMethods(client.leaseClient, ['leaseGrant', 'leaseRevoke', 'leaseKeepAlive']) ||
    !hasMethods(client.watchClient, ['watch'])
  ) {
    throw invalidArgument(
      'type',
      name,
      value,
      'an etcd3 client (new Etcd3(...) from the etcd3 package, or a namespace of one)',
    );
  }
  return client;
}

const TERMINAL = new Set([
  'ClientClosedError',
  'EtcdPermissionDeniedError',
  'EtcdAuthenticationFailedError',
  'GRPCUnauthenticatedError',
  'GRPCInvalidArgumentError',
  'GRPCNotImplementedError',
  'GRPCFailedPreconditionError',
  'GRPCOutOfRangeError',
]);

/**
 * Whether retrying the same request may succeed (lost connection, leader change, timeout),
 * as opposed to a closed client, a permission problem or a request etcd will always refuse.
 * @param error - what the client threw
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { constructor?: { name?: string } }).constructor?.name ?? '';
  if (TERMINAL.has(name)) return false;
  if (/client was already closed/i.test((error as Error).message ?? '')) return false;
  return true;
}

/**
 * Wraps a client failure in a `BackendError` whose `cause` is the client's error.
 * @param what - what was being done, for the message
 * @param error - the client's error
 */
export function backendError(what: string, error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new BackendError(`etcd ${what} failed: ${detail}`, { cause: error });
}

/**
 * Whether the etcd3 client was closed. Its open streams keep working after `close()`, so a
 * session would otherwise keep its lease alive forever; this reads etcd3's connection pool
 * (best effort: `false` when the shape is unknown).
 * @param client - raw client
 */
export function isClientClosed(client: RawClient): boolean {
  const hosts = (client as unknown as { pool?: { hosts?: unknown } }).pool?.hosts;
  return (
    Array.isArray(hosts) && hosts.length > 0 && hosts.every((host) => (host as { closed?: unknown })?.closed === true)
  );
}

/**
 * Deadline option for one call of at most `ms` per try. A getter, read when each try starts:
 * etcd3 retries a call that failed with a recoverable error (three tries by default) with the
 * same options object, so a fixed deadline used up by a member that stopped answering (a
 * SIGSTOPped leader, say) made the retries on the healthy members fail at once with
 * DEADLINE_EXCEEDED. Those instant failures opened the healthy members' circuit breakers, and
 * every call then went to the stopped member until its own breaker opened: seconds without
 * progress while a majority was up.
 * @param ms - milliseconds each try may take
 * @returns call options whose `deadline` is `ms` from the moment it is read
 */
export function deadline(ms: number): CallOptions {
  // An own, enumerable getter (not one on a class prototype): etcd3 spreads these options over
  // the client's default call options when it has some, and a spread copies only own properties.
  return {
    get deadline(): number {
      return Date.now() + ms;
    },
  };
}

// Numeric enum values of etcd's protobuf API (etcd3 passes numbers; strings must be the proto names).
/** `RangeRequest.SortOrder.ASCEND` */
export const SORT_ASCEND = 1;
/** `RangeRequest.SortOrder.DESCEND` */
export const SORT_DESCEND = 2;
/** `RangeRequest.SortTarget.CREATE` */
export const SORT_BY_CREATE = 2;
/** `Compare.CompareTarget.CREATE` */
export const COMPARE_CREATE = 1;
/** `Compare.CompareTarget.VALUE` */
export const COMPARE_VALUE = 3;
/** `Compare.CompareResult.EQUAL` */
export const COMPARE_EQUAL = 0;
/** `WatchCreateRequest.FilterType.NOPUT` */
export const FILTER_NOPUT = 0;

/**
 * The transaction compare "`key` has create revision `revision`": `0` means the key does not
 * exist, any other value that it is still the key created then (not a newer one of that name).
 * @param key - the key
 * @param revision - its create revision, or 0
 */
export function createdAt(key: Buffer, revision: bigint | 0): ICompare {
  return { key, target: COMPARE_CREATE, result: COMPARE_EQUAL, create_revision: revision.toString() };
}
