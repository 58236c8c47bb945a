/**
 * Where a shared structure lives: a `SharedArrayBuffer` and the byte offset of its region.
 * Structured-clone-safe, so it can be posted to a worker.
 */
export interface RegionHandle {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  /** Start of the structure's region, in bytes from the start of `buffer`. */
  readonly byteOffset: number;
}

/**
 * Where to build a new structure: in `buffer` at `byteOffset` (default 0). Leave both out to
 * allocate a buffer of exactly the structure's size. Use the structure's static `byteLength()`
 * and `alignment` to lay several structures out in one buffer.
 *
 * @example
 * ```ts
 * const buffer = new SharedArrayBuffer(SharedMutex.byteLength() + AtomicInt32.byteLength());
 * const mutex = new SharedMutex({ buffer, byteOffset: 0 });
 * const count = new AtomicInt32(0, { buffer, byteOffset: SharedMutex.byteLength() });
 * ```
 */
export interface Placement {
  /** An existing buffer to build the structure in, e.g. one holding several structures. */
  readonly buffer?: SharedArrayBuffer | undefined;
  /** Offset of the region in `buffer` (default 0); must respect the structure's alignment. */
  readonly byteOffset?: number | undefined;
}
