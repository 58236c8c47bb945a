/** Something a {@link TimerList} calls back at its due time. */
export interface TimerEntry {
  /** `performance.now()` at which `fire` should run. */
  due: number;
  /** @internal list links */
  previous: TimerEntry | undefined;
  /** @internal */
  next: TimerEntry | undefined;
  /** @internal the list holding the entry */
  list: TimerList | undefined;
  /** Called once the entry is due; the entry has already left the list. */
  fire(now: number): void;
}

/**
 * Entries sorted by due time, behind one shared timer. Leases of one primitive are added with
 * the same delay from about "now", so insertion is at or next to the tail (O(1)), removal is
 * O(1), and the timer is re-armed only when a new entry is due before the armed time. A lease
 * that is acquired and released within one watchdog period costs no timer operation at all,
 * where a timer per lease would cost a setTimeout and a clearTimeout on every acquisition.
 */
export class TimerList {
  #head: TimerEntry | undefined = undefined;
  #tail: TimerEntry | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  readonly #onTimer = (): void => this.#run();

  /** Adds `entry` (not in any list) to fire at `due`. */
  add(entry: TimerEntry, due: number): void {
    entry.due = due;
    entry.list = this;
    let after = this.#tail;
    while (after !== undefined && after.due > due) after = after.previous;
    const before = after === undefined ? this.#head : after.next;
    entry.previous = after;
    entry.next = before;
    if (after === undefined) this.#head = entry;
    else after.next = entry;
    if (before === undefined) this.#tail = entry;
    else before.previous = entry;
    if (due < this.#armedFor) this.#arm(due);
  }

  /** Removes `entry` if it is in this list. The timer stays armed: it finds nothing due and stops. */
  remove(entry: TimerEntry): void {
    if (entry.list !== this) return;
    const { previous, next } = entry;
    if (previous === undefined) this.#head = next;
    else previous.next = next;
    if (next === undefined) this.#tail = previous;
    else next.previous = previous;
    entry.previous = entry.next = undefined;
    entry.list = undefined;
  }

  #arm(due: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = due;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, due - performance.now()));
    // A forgotten lease must not keep the process alive just to extend itself.
    this.#timer.unref?.();
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    // Timers may fire up to a millisecond early relative to performance.now().
    for (let entry = this.#head; entry !== undefined && entry.due <= now + 1; entry = this.#head) {
      this.remove(entry);
      entry.fire(now);
    }
    if (this.#head !== undefined) this.#arm(this.#head.due);
  }
}

const lists = new Map<number, TimerList>();

/** The shared list for entries added with delay `delay` (one list per distinct delay keeps insertion O(1)). */
export function timerListFor(delay: number): TimerList {
  let list = lists.get(delay);
  if (list === undefined) {
    list = new TimerList();
    lists.set(delay, list);
  }
  return list;
}
