import { EventCount } from '../event-count.js';
import type { RegionHandle } from '../placement.js';
import { attachNext } from './attach.js';

/**
 * The single-producer rings (`SpscQueue`, `ByteChannel`) keep each side's index in bits 0-30 of
 * its word (counting modulo 2^31) and use bit 31 as WANTED: "the other side is about to sleep".
 * A side publishes its index with `Atomics.exchange`, which returns (and clears) the flag, so it
 * learns about a sleeper without reading another word.
 */
export const INDEX = 0x7fffffff;
/** Bit 31 of an index word (see `INDEX`). */
export const WANTED = -0x80000000;

/**
 * An event count that, on registering, also sets WANTED on the index word the other side
 * publishes: the consumer's for "not full", the producer's for "not empty". The two
 * read-modify-writes on that word are ordered: either the publishing exchange returns the flag
 * (and notifies), or the registering side's re-check, after its own write, sees the new index.
 */
export class IndexEvents extends EventCount {
  readonly #control: Int32Array;
  readonly #word: number;

  /**
   * @param at - the event count's place
   * @param control - the ring's control words
   * @param word - the index of the word to flag
   * @param attach - `true` to attach to an existing event count, `false` to build one
   */
  constructor(at: RegionHandle, control: Int32Array, word: number, attach: boolean) {
    if (attach) attachNext(at);
    super(attach ? undefined : at);
    this.#control = control;
    this.#word = word;
  }

  override prepareWait(): number {
    const key = super.prepareWait();
    Atomics.or(this.#control, this.#word, WANTED);
    return key;
  }
}
