import { Futex, type PendingWait, type ThreadRegistry } from '@cf/atomics';

// The words of a SharedMutex region: the lock word (holder << 1 | waiters bit; 0 when free), the
// futex's count of abandoned async waits, and the fencing counter (low and high 32 bits, written
// under the lock).
const STATE = 0;
const TOKEN_LOW = 2;
const TOKEN_HIGH = 3;
/** Bytes of a `SharedMutex` region. */
export const MUTEX_BYTES = 16;
const WAITERS = 1;
/** The holder word of a mutex without a registry: every thread writes the same id. */
export const ANONYMOUS: number = 1 << 1;

/**
 * Milliseconds between liveness checks of a robust mutex's holder while waiting: the longest a
 * waiter sleeps before noticing that the holder was reported dead.
 */
export const LIVENESS_INTERVAL = 50;

/** How a contended attempt ended: not taken, taken, or taken over from a holder reported dead. */
export type Take = 0 | 1 | 2;
const FAILED = 0;
const TOOK = 1;
const TOOK_OVER = 2;

/**
 * The shared words of one `SharedMutex` and the futex protocol on them (no per-handle state): a
 * three-state lock word whose holder part names the holding thread, the robust takeover from a
 * holder reported dead (see docs/shared-memory.md, "Robustness"), and the fencing counter.
 * `SharedMutex` runs the uncontended compare-and-swap itself and calls in here otherwise.
 */
export class MutexWords {
  /** The region's words; `state[0]` is the lock word. */
  readonly state: Int32Array;
  readonly #futex: Futex;
  readonly #registry: ThreadRegistry | undefined;

  constructor(buffer: SharedArrayBuffer, byteOffset: number, registry: ThreadRegistry | undefined) {
    this.state = new Int32Array(buffer, byteOffset, MUTEX_BYTES / 4);
    this.#futex = Futex.from({ buffer, byteOffset });
    this.#registry = registry;
  }

  /** `true` while any thread holds the mutex. */
  get locked(): boolean {
    return Atomics.load(this.state, STATE) !== 0;
  }

  /**
   * Takes and returns the next fencing token (call it under the lock).
   * @returns a token above every earlier one of this mutex
   */
  nextToken(): number {
    const words = this.state;
    const low = (words[TOKEN_LOW]! + 1) | 0;
    words[TOKEN_LOW] = low;
    if (low === 0) words[TOKEN_HIGH] = (words[TOKEN_HIGH]! + 1) | 0;
    return words[TOKEN_HIGH]! * 0x100000000 + (low >>> 0);
  }

  /**
   * One attempt by a thread that may have waited: takes a free lock with the waiters bit set
   * (other sleepers may exist), or takes it over from a holder reported dead, keeping the
   * waiters bit so the remaining sleepers are still woken later.
   * @param owner - this thread's holder word
   */
  takeContended(owner: number): Take {
    const words = this.state;
    const state = Atomics.load(words, STATE);
    if (state === 0) return Atomics.compareExchange(words, STATE, 0, owner | WAITERS) === 0 ? TOOK : FAILED;
    if (this.#registry === undefined || this.#holderAlive(state)) return FAILED;
    return Atomics.compareExchange(words, STATE, state, owner | (state & WAITERS)) === state ? TOOK_OVER : FAILED;
  }

  /**
   * Takes the lock, blocking the thread until it is free, taken over, or `timeout` passed.
   * @param owner - this thread's holder word
   * @param timeout - milliseconds, or `Infinity`
   * @returns how it ended (`0`: the time limit passed)
   */
  lockBlocking(owner: number, timeout: number): Take {
    const words = this.state;
    // No spinning before parking: with short critical sections the releasing thread takes the
    // lock straight back, so a spinner mostly loses the race and slows the holder down (measured
    // on 2 cores: a spin of 10-100 rounds cost 25-60% of contended throughput).
    if (Atomics.compareExchange(words, STATE, 0, owner) === 0) return TOOK;
    const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    // A robust mutex's sleepers wake up now and then to check the holder's liveness.
    const slice = this.#registry === undefined ? Number.POSITIVE_INFINITY : LIVENESS_INTERVAL;
    for (;;) {
      const took = this.takeContended(owner);
      if (took !== FAILED) return took;
      const state = Atomics.load(words, STATE);
      if (state === 0) continue;
      if ((state & WAITERS) === 0 && Atomics.compareExchange(words, STATE, state, state | WAITERS) !== state) continue;
      if (deadline === Number.POSITIVE_INFINITY) {
        Atomics.wait(words, STATE, state | WAITERS, slice);
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return FAILED;
      Atomics.wait(words, STATE, state | WAITERS, Math.min(left, slice));
    }
  }

  /**
   * Parks an async waiter until the lock word changes (or, robust, until the next liveness check).
   * @returns the wait, or `undefined` when the lock may be taken now (retry at once)
   */
  park(): PendingWait | undefined {
    const words = this.state;
    const state = Atomics.load(words, STATE);
    if (state === 0 || (this.#registry !== undefined && !this.#holderAlive(state))) return undefined;
    if ((state & WAITERS) === 0 && Atomics.compareExchange(words, STATE, state, state | WAITERS) !== state)
      return undefined;
    return this.#futex.park(
      state | WAITERS,
      this.#registry === undefined ? Number.POSITIVE_INFINITY : LIVENESS_INTERVAL,
    );
  }

  /**
   * Releases a hold whose holder word is `heldAs` after the uncontended compare-and-swap (which
   * matches only a lock word without the waiters bit) failed: wakes a sleeper if the bit is set.
   * A hold that was taken over (its thread was reported dead while alive, a caller error) is no
   * longer in the lock word, and nothing is released: the new holder's lock stays held.
   */
  unlockContended(heldAs: number): void {
    const words = this.state;
    for (;;) {
      const state = Atomics.load(words, STATE);
      if (state >>> 1 !== heldAs >>> 1) return;
      if (Atomics.compareExchange(words, STATE, state, 0) === state) {
        if ((state & WAITERS) !== 0) this.#futex.notify(1);
        return;
      }
    }
  }

  #holderAlive(state: number): boolean {
    const holder = state >>> 1;
    return holder === ANONYMOUS >>> 1 || this.#registry!.isOwnerAlive(holder);
  }
}
