import { Futex, type PendingWait } from '@cf/atomics';

// The algorithm of Rust's futex-based RwLock (library/std/src/sys/sync/rwlock/futex.rs), in
// shared memory. The state word holds the reader count in bits 0-29 (all ones: write-locked),
// bit 30 "readers waiting" and bit 31 "writers waiting". Readers sleep on the state word;
// writers sleep on a separate notification counter, so a writer can be woken alone. A waiting
// writer stops new readers (write-preferring), so writers do not starve.
const READ_LOCKED = 1;
const MASK = (1 << 30) - 1;
const WRITE_LOCKED = MASK;
const MAX_READERS = MASK - 1;
const READERS_WAITING = 1 << 30;
const WRITERS_WAITING = 1 << 31; // -2^31 as an int32

// Words: state, its futex's abandoned count, writer notification counter, its abandoned count;
// then the 64-bit fencing counter.
const STATE = 0;
const WRITER_NOTIFY = 2;
const WRITER_ABANDONED = 3;
const TOKEN = 2; // BigInt64 index
/** Bytes of a `SharedReadWriteLock` region. */
export const READ_WRITE_BYTES = 24;

const isUnlocked = (state: number): boolean => (state & MASK) === 0;
const isWriteLocked = (state: number): boolean => (state & MASK) === WRITE_LOCKED;
const readersWaiting = (state: number): boolean => (state & READERS_WAITING) !== 0;
const writersWaiting = (state: number): boolean => (state & WRITERS_WAITING) !== 0;
const isReadLockable = (state: number): boolean =>
  (state & MASK) < MAX_READERS && (state & (READERS_WAITING | WRITERS_WAITING)) === 0;

/** The shared words of one read-write lock and the operations on them (no per-handle state). */
export class ReadWriteWords {
  readonly #words: Int32Array;
  readonly #tokens: BigInt64Array;
  readonly #stateFutex: Futex;
  readonly #writerFutex: Futex;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.#words = new Int32Array(buffer, byteOffset, READ_WRITE_BYTES / 4);
    this.#tokens = new BigInt64Array(buffer, byteOffset, READ_WRITE_BYTES / 8);
    this.#stateFutex = Futex.from({ buffer, byteOffset });
    this.#writerFutex = Futex.from({ buffer, byteOffset: byteOffset + 8 });
  }

  /** Number of read holds now. */
  get readers(): number {
    const held = Atomics.load(this.#words, STATE) & MASK;
    return held === WRITE_LOCKED ? 0 : held;
  }

  /** Whether a writer holds the lock now. */
  get writeLocked(): boolean {
    return isWriteLocked(Atomics.load(this.#words, STATE));
  }

  /** Takes and returns the next fencing token. */
  nextToken(): bigint {
    return Atomics.add(this.#tokens, TOKEN, 1n) + 1n;
  }

  tryRead(): boolean {
    const words = this.#words;
    for (let state = Atomics.load(words, STATE); isReadLockable(state); ) {
      const found = Atomics.compareExchange(words, STATE, state, state + READ_LOCKED);
      if (found === state) return true;
      state = found;
    }
    return false;
  }

  tryWrite(): boolean {
    const words = this.#words;
    for (let state = Atomics.load(words, STATE); isUnlocked(state); ) {
      const found = Atomics.compareExchange(words, STATE, state, state | WRITE_LOCKED);
      if (found === state) return true;
      state = found;
    }
    return false;
  }

  /** Blocking read lock; `false` when `deadline` (a `performance.now()` time) passed. */
  readSync(deadline: number): boolean {
    const words = this.#words;
    for (;;) {
      const state = Atomics.load(words, STATE);
      if (isReadLockable(state)) {
        if (Atomics.compareExchange(words, STATE, state, state + READ_LOCKED) === state) return true;
        continue;
      }
      if ((state & MASK) === MAX_READERS) throw new RangeError('Too many read holds on one SharedReadWriteLock');
      if (!readersWaiting(state) && Atomics.compareExchange(words, STATE, state, state | READERS_WAITING) !== state) {
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(words, STATE, state | READERS_WAITING, left);
    }
  }

  /** Blocking write lock; `false` when `deadline` passed. */
  writeSync(deadline: number): boolean {
    const words = this.#words;
    if (Atomics.compareExchange(words, STATE, 0, WRITE_LOCKED) === 0) return true;
    // Once this writer has waited, others may wait too: keep their bit when taking the lock.
    let otherWriters = 0;
    for (;;) {
      let state = Atomics.load(words, STATE);
      if (isUnlocked(state)) {
        if (Atomics.compareExchange(words, STATE, state, state | WRITE_LOCKED | otherWriters) === state) return true;
        continue;
      }
      if (!writersWaiting(state) && Atomics.compareExchange(words, STATE, state, state | WRITERS_WAITING) !== state) {
        continue;
      }
      otherWriters = WRITERS_WAITING;
      // Read the counter before re-checking the state, so a wake-up in between is not missed.
      const sequence = Atomics.load(words, WRITER_NOTIFY);
      state = Atomics.load(words, STATE);
      if (isUnlocked(state) || !writersWaiting(state)) continue;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(words, WRITER_NOTIFY, sequence, left);
    }
  }

  /** One attempt for a queued async reader. */
  takeReadContended(): boolean {
    return this.tryRead();
  }

  /** One attempt for a queued async writer, keeping the writers-waiting bit (others may wait). */
  takeWriteContended(): boolean {
    const words = this.#words;
    const state = Atomics.load(words, STATE);
    if (!isUnlocked(state)) return false;
    return Atomics.compareExchange(words, STATE, state, state | WRITE_LOCKED | WRITERS_WAITING) === state;
  }

  /** Parks an async reader until the state changes, or `undefined` to retry at once. */
  parkReader(): PendingWait | undefined {
    const words = this.#words;
    const state = Atomics.load(words, STATE);
    if (isReadLockable(state)) return undefined;
    if (!readersWaiting(state) && Atomics.compareExchange(words, STATE, state, state | READERS_WAITING) !== state) {
      return undefined;
    }
    return this.#stateFutex.park(state | READERS_WAITING);
  }

  /** Parks an async writer until a writer is woken, or `undefined` to retry at once. */
  parkWriter(): PendingWait | undefined {
    const words = this.#words;
    let state = Atomics.load(words, STATE);
    if (isUnlocked(state)) return undefined;
    if (!writersWaiting(state) && Atomics.compareExchange(words, STATE, state, state | WRITERS_WAITING) !== state) {
      return undefined;
    }
    const sequence = Atomics.load(words, WRITER_NOTIFY);
    state = Atomics.load(words, STATE);
    if (isUnlocked(state) || !writersWaiting(state)) return undefined;
    return this.#writerFutex.park(sequence);
  }

  unlockRead(): void {
    const state = (Atomics.sub(this.#words, STATE, READ_LOCKED) - READ_LOCKED) | 0;
    // Readers never wait on a read-locked lock unless a writer waits too: wake the writer.
    if (isUnlocked(state) && writersWaiting(state)) this.#wakeWriterOrReaders(state);
  }

  unlockWrite(): void {
    const state = (Atomics.sub(this.#words, STATE, WRITE_LOCKED) - WRITE_LOCKED) | 0;
    if (writersWaiting(state) || readersWaiting(state)) this.#wakeWriterOrReaders(state);
  }

  #wakeWriterOrReaders(initial: number): void {
    const words = this.#words;
    let state = initial;
    // If the lock gets taken meanwhile, its holder wakes the waiters when it unlocks.
    if (state === WRITERS_WAITING) {
      const found = Atomics.compareExchange(words, STATE, state, 0);
      if (found === state) {
        this.#wakeWriter();
        return;
      }
      state = found;
    }
    if (state === (READERS_WAITING | WRITERS_WAITING)) {
      if (Atomics.compareExchange(words, STATE, state, READERS_WAITING) !== state) return;
      if (this.#wakeWriter()) return;
      // No writer was certainly woken: wake the readers instead (a spurious wake-up is harmless).
      state = READERS_WAITING;
    }
    if (state === READERS_WAITING && Atomics.compareExchange(words, STATE, state, 0) === state) {
      this.#stateFutex.notify(Number.POSITIVE_INFINITY);
    }
  }

  // Whether a live writer was certainly woken: more waiters woken than abandoned async waits exist.
  #wakeWriter(): boolean {
    Atomics.add(this.#words, WRITER_NOTIFY, 1);
    const abandoned = Atomics.load(this.#words, WRITER_ABANDONED);
    return this.#writerFutex.notify(1) > abandoned;
  }
}
