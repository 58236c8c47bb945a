/**
 * The Node.js entry of @cf/locks: owners from the current async context, so a
 * `ReentrantMutex` recognises its holder without passing `owner` through every call.
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { checkFunction, invalidArgument, setOwnerResolver } from '@cf/core';

const storage = new AsyncLocalStorage<unknown>();
let ownerCount = 0;
const resolveFromContext = (): unknown => storage.getStore();

/** The owner token `runAsOwner` creates when none is given; `id` helps when reading events. */
class AsyncContextOwner {
  readonly id: number = ++ownerCount;
}

/**
 * Runs `fn` as one owner. Inside `fn`, and in everything it starts that inherits its async
 * context (awaited calls, promise callbacks, timers, event listeners added inside it), every
 * acquisition without an explicit `options.owner` belongs to this owner: a `ReentrantMutex`
 * taken there can be taken again there without waiting, and observers see this owner as the
 * holder. A nested `runAsOwner` starts a new owner for its own scope.
 *
 * Concurrent work started inside one scope shares the owner: `Promise.all([a(), b()])` run
 * under one owner can both enter a `ReentrantMutex` at once. Give each concurrent branch its
 * own `runAsOwner` when they must exclude each other.
 *
 * Each call installs this module's owner resolver in `@cf/core` (see `setOwnerResolver`).
 *
 * @param fn - the work to run as the owner
 * @param owner - the owner token (default: a new unique object)
 * @returns what `fn` returns
 * @throws TypeError (code `ERR_CF_INVALID_ARG`) if `fn` is not a function or `owner` is `null`
 * @example
 * ```ts
 * import { ReentrantMutex } from '@cf/locks';
 * import { runAsOwner } from '@cf/locks/node';
 *
 * const mutex = new ReentrantMutex();
 * async function save(): Promise<void> {
 *   await using _ = await mutex.acquire();
 *   await audit();                            // may call save() helpers that acquire again
 * }
 * server.on('request', (req, res) => runAsOwner(() => save().then(() => res.end())));
 * ```
 */
export function runAsOwner<T>(fn: () => T, owner?: unknown): T {
  checkFunction(fn, 'fn');
  if (owner === null)
    throw invalidArgument('type', 'owner', owner, 'an owner token (any value but null), or undefined');
  // Set on every call (an assignment), so a resolver replaced in between is put back.
  setOwnerResolver(resolveFromContext);
  return storage.run(owner === undefined ? new AsyncContextOwner() : owner, fn);
}

/**
 * The owner of the current async context, or `undefined` outside any {@link runAsOwner}.
 * @returns the owner token
 * @example
 * ```ts
 * runAsOwner(() => { console.log(currentOwner() !== undefined); });   // true
 * ```
 */
export function currentOwner(): unknown {
  return storage.getStore();
}
