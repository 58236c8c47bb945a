import { checkAcquireOptions, checkInteger, checkTimeout, invalidArgument } from '@cf/core';
import type { ElementArray } from './element-type.js';
import { type EventCount, eventCountInternals } from './event-count.js';
import { attachNext, takeAttached } from './internal/attach.js';
import { copyRun } from './internal/copy-run.js';
import { INDEX, IndexEvents } from './internal/index-events.js';
import { CAPACITY, HEADER_BYTES, MAGIC, NOT_EMPTY_OFFSET, NOT_FULL_OFFSET, readHeader } from './internal/layout.js';
import type { QueueWaitOptions } from './internal/wait-options.js';
import { type Attempt, blockUntil, closedError, NOT_YET, timeoutError, waitUntil } from './internal/waiting.js';
import { CACHE_LINE, checkRegion, nextPowerOfTwo, type Placement, placeRegion, type RegionHandle } from './region.js';

/** A `ByteChannel` as posted to a worker. */
export interface ByteChannelHandle extends RegionHandle {
  /** Ring size in bytes (a power of two). */
  readonly capacity: number;
}

const CHANNEL_MAGIC = 0x42594348; // 'BYCH'
const FLAGS = 3;
const HEAD = CACHE_LINE / 4;
const TAIL = (2 * CACHE_LINE) / 4;
const DATA_OFFSET = 3 * CACHE_LINE;
const CLOSED = 1;
const MIN_CAPACITY = 16;
const MAX_CAPACITY = 2 ** 30;

// A record is a 4-byte length followed by the payload, padded to 4 bytes, so every length word
// is 4-aligned and never split by the end of the ring (the capacity is a power of two >= 16).
const recordBytes = (length: number): number => 4 + ((length + 3) & ~3);

/**
 * A single-producer single-consumer channel of variable-length byte messages over a ring in
 * shared memory: one thread sends `Uint8Array`s, another receives copies of them, in order,
 * without `postMessage`. A message may be up to `capacity - 4` bytes long. Waiting is blocking
 * (`sendSync`/`receiveSync`) or async (`send`/`receive`); `close()` wakes both sides, after which
 * sends throw `ClosedError` and receives drain what was sent, then throw `ClosedError` (async
 * iteration ends).
 *
 * Like `SpscQueue`, each side caches the other side's index and publishes its own with one
 * atomic exchange that also tells it whether the other side sleeps.
 *
 * Layout (8-aligned): a 64-byte header, the reader's index and the writer's index on their own
 * 64-byte lines (each counts bytes modulo 2^31; bit 31 flags that the other side waits), then
 * `capacity` bytes of records (4-byte length, payload padded to 4 bytes).
 *
 * @example
 * ```ts
 * const channel = new ByteChannel(1 << 16);
 * new Worker(url, { workerData: channel.handle });  // worker: ByteChannel.from(h).sendSync(bytes)
 * for await (const message of channel) console.log(new TextDecoder().decode(message));
 * ```
 */
export class ByteChannel implements AsyncIterable<Uint8Array> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** Ring size in bytes (the requested size rounded up to a power of two). */
  readonly capacity: number;
  readonly #handle: ByteChannelHandle;
  readonly #control: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly #notEmpty: EventCount;
  readonly #notFull: EventCount;
  // Each side's last view of the other side's index: stale only in the safe direction.
  #cachedHead: number;
  #cachedTail: number;

  /**
   * Bytes a channel with a ring of `capacity` bytes occupies.
   * @param capacity - requested ring size in bytes, 16 to 2^30 (rounded up to a power of two)
   * @returns the size in bytes
   * @throws TypeError / RangeError for a bad capacity
   * @example `ByteChannel.byteLength(65536)`
   */
  static byteLength(capacity: number): number {
    return DATA_OFFSET + nextPowerOfTwo(checkInteger(capacity, 'capacity', MIN_CAPACITY, MAX_CAPACITY));
  }

  /**
   * Rebuilds the channel from its handle, e.g. in a worker.
   * @param handle - `channel.handle` as posted
   * @returns a channel on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const channel = ByteChannel.from(workerData.channel)`
   */
  static from(handle: ByteChannelHandle): ByteChannel {
    const region = checkRegion(handle, 'handle', HEADER_BYTES, 8);
    const header = readHeader(region, CHANNEL_MAGIC, 'ByteChannel');
    if (header.capacity !== handle.capacity) {
      throw invalidArgument(
        'range',
        'handle.capacity',
        handle.capacity,
        `${header.capacity}, the capacity of this region's ByteChannel`,
      );
    }
    attachNext({ ...checkRegion(handle, 'handle', DATA_OFFSET + header.capacity, 8), capacity: header.capacity });
    return new ByteChannel(header.capacity);
  }

  /**
   * Creates an empty channel in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param capacity - ring size in bytes, 16 to 2^30, rounded up to a power of two
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const channel = new ByteChannel(4096)`
   */
  constructor(capacity: number, options?: Placement) {
    const attached = takeAttached<ByteChannelHandle>();
    const region = attached ?? placeRegion(options, ByteChannel.byteLength(capacity), 8);
    this.capacity = attached?.capacity ?? nextPowerOfTwo(capacity);
    this.#mask = this.capacity - 1;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset, capacity: this.capacity };
    this.#control = new Int32Array(region.buffer, region.byteOffset, DATA_OFFSET / 4);
    this.#bytes = new Uint8Array(region.buffer, region.byteOffset + DATA_OFFSET, this.capacity);
    this.#words = new Int32Array(region.buffer, region.byteOffset + DATA_OFFSET, this.capacity / 4);
    const attach = attached !== undefined;
    const eventsAt = (offset: number, word: number) =>
      new IndexEvents({ buffer: region.buffer, byteOffset: region.byteOffset + offset }, this.#control, word, attach);
    if (!attach) this.#control.fill(0);
    this.#notEmpty = eventsAt(NOT_EMPTY_OFFSET, TAIL);
    this.#notFull = eventsAt(NOT_FULL_OFFSET, HEAD);
    if (!attach) {
      this.#control[CAPACITY] = this.capacity;
      Atomics.store(this.#control, MAGIC, CHANNEL_MAGIC);
    }
    this.#cachedHead = Atomics.load(this.#control, HEAD) & INDEX;
    this.#cachedTail = Atomics.load(this.#control, TAIL) & INDEX;
  }

  /** The structured-clone-safe handle to post to the other thread. */
  get handle(): ByteChannelHandle {
    return this.#handle;
  }

  /** Bytes this channel occupies. */
  get byteLength(): number {
    return DATA_OFFSET + this.capacity;
  }

  /** The longest message the channel carries: `capacity - 4` bytes. */
  get maxMessageLength(): number {
    return this.capacity - 4;
  }

  /** `true` once `close()` was called. */
  get isClosed(): boolean {
    return (Atomics.load(this.#control, FLAGS) & CLOSED) !== 0;
  }

  /**
   * Sends a copy of `message` if the ring has room for it now. Sender side only.
   * @param message - up to `maxMessageLength` bytes
   * @returns `false` when there is not enough room
   * @throws ClosedError after `close()`; TypeError / RangeError for a bad message
   * @example `channel.trySend(new TextEncoder().encode('hi'))`
   */
  trySend(message: Uint8Array): boolean {
    this.#checkMessage(message);
    return this.#write(message);
  }

  /**
   * Receives the oldest message, if any. Receiver side only.
   * @returns a new `Uint8Array` with the message, or `undefined` when none is waiting
   * @example `const message = channel.tryReceive()`
   */
  tryReceive(): Uint8Array | undefined {
    const message = this.#read();
    if (message !== undefined) return message;
    this.#cachedTail = Atomics.load(this.#control, TAIL) & INDEX;
    return this.#read();
  }

  /**
   * Sends `message`, blocking while the ring lacks room. For workers.
   * @param message - up to `maxMessageLength` bytes
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws ClosedError when the channel is or gets closed; TypeError / RangeError for bad arguments
   * @example `channel.sendSync(bytes)`
   */
  sendSync(message: Uint8Array, timeout: number = Number.POSITIVE_INFINITY): boolean {
    this.#checkMessage(message);
    if (this.#write(message)) return true;
    checkTimeout(timeout, 'timeout');
    return blockUntil(() => (this.#write(message) ? true : NOT_YET), this.#notFull, timeout) !== NOT_YET;
  }

  /**
   * Receives the oldest message, blocking while none is waiting. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the message, or `undefined` when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for a bad timeout
   * @example `const message = channel.receiveSync(1000)`
   */
  receiveSync(timeout: number = Number.POSITIVE_INFINITY): Uint8Array | undefined {
    const message = this.#read();
    if (message !== undefined) return message;
    checkTimeout(timeout, 'timeout');
    const result = blockUntil(() => this.#attemptReceive(), this.#notEmpty, timeout);
    return result === NOT_YET ? undefined : result;
  }

  /**
   * Sends `message`, waiting without blocking while the ring lacks room.
   * @param message - up to `maxMessageLength` bytes
   * @param options - `timeout` (ms) and `signal`
   * @returns resolves once the message is in the ring
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError`, or TypeError / RangeError
   * @example `await channel.send(bytes, { signal })`
   */
  async send(message: Uint8Array, options?: QueueWaitOptions): Promise<void> {
    this.#checkMessage(message);
    checkAcquireOptions(options);
    if (this.#write(message)) return;
    const attempt = (): Attempt<true> => (this.#write(message) ? true : NOT_YET);
    const result = await waitUntil(
      attempt,
      this.#notFull,
      options?.timeout ?? Number.POSITIVE_INFINITY,
      options?.signal,
    );
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'room in the ByteChannel');
  }

  /**
   * Receives the oldest message, waiting without blocking while none is waiting.
   * @param options - `timeout` (ms) and `signal`
   * @returns the message
   * @throws rejects with `ClosedError` once closed and drained, `TimeoutError`, `signal.reason`
   * @example `const message = await channel.receive({ timeout: 1000 })`
   */
  async receive(options?: QueueWaitOptions): Promise<Uint8Array> {
    checkAcquireOptions(options);
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const result = await waitUntil(() => this.#attemptReceive(), this.#notEmpty, timeout, options?.signal);
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'a message of the ByteChannel');
    return result;
  }

  /**
   * Closes the channel and wakes both sides. Idempotent. Call it from the sender so no send races it.
   * @example `channel.close()`
   */
  close(): void {
    Atomics.or(this.#control, FLAGS, CLOSED);
    this.#notEmpty.notify();
    this.#notFull.notify();
  }

  /**
   * Receives until the channel is closed and drained.
   * @returns an async iterator of the messages
   * @example `for await (const message of channel) handle(message)`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const attempt = (): Attempt<Uint8Array | null> => {
        const message = this.tryReceive();
        if (message !== undefined) return message;
        if (this.isClosed) return this.tryReceive() ?? null;
        return NOT_YET;
      };
      const result = await waitUntil(attempt, this.#notEmpty, Number.POSITIVE_INFINITY, undefined);
      if (result === null) return;
      yield result as Uint8Array;
    }
  }

  #checkMessage(message: unknown): asserts message is Uint8Array {
    // instanceof first: cheap on the hot path; the tag check accepts arrays from other realms.
    if (!(message instanceof Uint8Array) && Object.prototype.toString.call(message) !== '[object Uint8Array]') {
      throw invalidArgument('type', 'message', message, 'a Uint8Array');
    }
    if ((message as Uint8Array).length > this.capacity - 4) {
      throw invalidArgument(
        'range',
        'message.length',
        (message as Uint8Array).length,
        `at most ${this.capacity - 4} bytes`,
      );
    }
  }

  #attemptReceive(): Attempt<Uint8Array> {
    const message = this.tryReceive();
    if (message !== undefined) return message;
    if (this.isClosed) {
      const last = this.tryReceive();
      if (last !== undefined) return last;
      throw closedError('ByteChannel');
    }
    return NOT_YET;
  }

  // Writes against the cached reader index, re-reading the shared one only when that view says
  // there is no room. Plain reads of this side's own index and of the closed flag, as in
  // SpscQueue (see docs/atomics.md).
  #write(message: Uint8Array): boolean {
    const control = this.#control;
    if (((control[FLAGS] as number) & CLOSED) !== 0) throw closedError('ByteChannel');
    const tail = (control[TAIL] as number) & INDEX;
    const size = recordBytes(message.length);
    if (this.capacity - ((tail - this.#cachedHead) & INDEX) < size) {
      this.#cachedHead = Atomics.load(control, HEAD) & INDEX;
      if (this.capacity - ((tail - this.#cachedHead) & INDEX) < size) return false;
    }
    const at = tail & this.#mask;
    this.#words[at >> 2] = message.length;
    const start = (at + 4) & this.#mask;
    const first = Math.min(message.length, this.capacity - start);
    const source = message as ElementArray<'uint8'>;
    copyRun(source, 0, this.#bytes, start, first, false);
    if (first < message.length) copyRun(source, first, this.#bytes, 0, message.length - first, false);
    if (Atomics.exchange(control, TAIL, (tail + size) & INDEX) < 0) eventCountInternals.notify(this.#notEmpty);
    return true;
  }

  // Reads against the cached writer index only; `undefined` when that view says empty.
  #read(): Uint8Array | undefined {
    const control = this.#control;
    const head = (control[HEAD] as number) & INDEX;
    if (head === this.#cachedTail) return undefined;
    const at = head & this.#mask;
    const length = this.#words[at >> 2]!;
    const start = (at + 4) & this.#mask;
    const first = Math.min(length, this.capacity - start);
    const message = new Uint8Array(length);
    copyRun(this.#bytes, start, message, 0, first, false);
    if (first < length) copyRun(this.#bytes, 0, message, first, length - first, false);
    if (Atomics.exchange(control, HEAD, (head + recordBytes(length)) & INDEX) < 0) {
      eventCountInternals.notify(this.#notFull);
    }
    return message;
  }
}
