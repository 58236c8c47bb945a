import { checkOptionsObject, invalidArgument } from '@cf/core';
import { checkTtl, Session, type SessionCore, sessionCore, sharedSession } from '../session.js';
import { sessionEndedError } from './attempt.js';
import { checkClient, type EtcdClient, type RawClient } from './client.js';
import { checkPrefix } from './keys.js';

/**
 * Options of every session-based primitive.
 *
 * @example
 * ```ts
 * new EtcdLock(client, 'jobs', { ttl: 10_000 });                 // shared session with a 10 s lease
 * new EtcdLock(client, 'jobs', { session, prefix: '/locks/' });  // key /locks/jobs/<lease>
 * ```
 */
export interface EtcdOptions {
  /**
   * Lease ttl in ms of the shared session this primitive uses (one per client and ttl):
   * how long its keys outlive a crashed process. At least 1000, rounded up to whole seconds;
   * default 60000. Not allowed together with `session`.
   */
  ttl?: number | undefined;
  /** A session of the same client to use instead of the shared one. */
  session?: Session | undefined;
  /**
   * Prepended to the name to form the key prefix (default `''`): `prefix + name + '/'`.
   * May contain `/`, e.g. `'/locks/'` to meet `etcdctl lock /locks/<name>`.
   */
  prefix?: string | undefined;
}

/** Where a primitive gets its session from: the explicit one, or the client's shared one. */
export class SessionSource {
  readonly client: EtcdClient;
  readonly raw: RawClient;
  readonly prefix: string;
  readonly #explicit: Session | undefined;
  readonly #seconds: number;
  #last: Session | undefined = undefined;

  /**
   * Validates the client and options.
   * @param client - the argument
   * @param options - the argument
   */
  constructor(client: unknown, options: unknown) {
    this.raw = checkClient(client);
    this.client = client as EtcdClient;
    checkOptionsObject(options, 'options');
    const { ttl, session, prefix } = (options ?? {}) as EtcdOptions;
    this.prefix = checkPrefix(prefix);
    if (session !== undefined) {
      if (!(session instanceof Session))
        throw invalidArgument('type', 'options.session', session, 'a Session or undefined');
      if (session.client !== client) {
        throw invalidArgument('type', 'options.session', session, 'a Session created from the same client');
      }
      if (ttl !== undefined) {
        throw invalidArgument(
          'type',
          'options.ttl',
          ttl,
          'undefined when options.session is given (the session sets the ttl)',
        );
      }
    }
    this.#explicit = session;
    this.#seconds = checkTtl(ttl);
  }

  /**
   * The session to use now.
   * @param resource - for the error message
   * @throws LeaseLostError / ClosedError when the explicit session ended; BackendError when a
   *   shared session cannot be created
   */
  async current(resource: string): Promise<SessionCore> {
    if (this.#explicit !== undefined) {
      const core = sessionCore(this.#explicit);
      if (core.ended !== undefined) throw sessionEndedError(core, resource);
      return core;
    }
    const last = this.#last;
    if (last?.active) return sessionCore(last);
    const session = await sharedSession(this.client, this.raw, this.#seconds);
    this.#last = session;
    return sessionCore(session);
  }
}
