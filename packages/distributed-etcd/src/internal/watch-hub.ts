import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { FILTER_NOPUT, type RawClient } from './client.js';

/** What a watch reports: its events, or that it was reset (compaction or a server-side cancel). */
export type WatchListener = (events: IEvent[] | undefined) => void;

enum State {
  Queued = 0,
  Creating = 1,
  Active = 2,
  Done = 3,
}

/** One watch on a key or key range, multiplexed on the hub's stream. */
export class Watch {
  readonly key: Buffer;
  readonly end: Buffer | undefined;
  readonly noPut: boolean;
  /** Next revision to (re)start from: one past the last event delivered. */
  next: bigint;
  /** @internal */ id: string | undefined = undefined;
  /** @internal */ state: State = State.Queued;
  /** @internal */ readonly listener: WatchListener;

  constructor(key: Buffer, end: Buffer | undefined, from: bigint, noPut: boolean, listener: WatchListener) {
    this.key = key;
    this.end = end;
    this.next = from;
    this.noPut = noPut;
    this.listener = listener;
  }

  /** `true` once cancelled or reset. */
  get done(): boolean {
    return this.state === State.Done;
  }
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

const hubs = new WeakMap<object, WatchHub>();

/**
 * Ends a stream we no longer want. Half-closing first matters: etcd3 reports an error on a stream
 * that is still writable as a failed host (resetting all its connections and feeding its circuit
 * breaker), and our own cancel would otherwise count as one.
 * @param stream - a gRPC duplex stream from etcd3
 */
export function closeStream(stream: { end(): void; cancel(): void }): void {
  try {
    stream.end();
  } catch {}
  stream.cancel();
}

/**
 * All watches of one client share one gRPC watch stream, opened when the first watch starts and
 * closed when the last one ends. When the stream breaks, every watch is re-created from the
 * revision after the last event it delivered, so no event is missed; a watch whose revision was
 * compacted meanwhile is reset instead, and its owner re-reads the state it was waiting on.
 */
export class WatchHub {
  readonly #client: RawClient;
  #stream: Stream | undefined = undefined;
  #connecting = false;
  #creating: Watch | undefined = undefined;
  #queue: Watch[] = [];
  readonly #active = new Map<string, Watch>();
  readonly #all = new Set<Watch>();
  #backoff = 25;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #lastMessage = 0;
  #lastReset = 0;

  /**
   * @param client - the raw client; use {@link WatchHub.of} to share one hub per client
   */
  constructor(client: RawClient) {
    this.#client = client;
  }

  /**
   * The hub of `client`, created on first use.
   * @param client - raw client
   */
  static of(client: RawClient): WatchHub {
    let hub = hubs.get(client);
    if (hub === undefined) {
      hub = new WatchHub(client);
      hubs.set(client, hub);
    }
    return hub;
  }

  /** Number of watches currently registered (for tests). */
  get size(): number {
    return this.#all.size;
  }

  /** Whether a stream is open or opening (for tests). */
  get streaming(): boolean {
    return this.#stream !== undefined || this.#connecting;
  }

  /**
   * Starts watching `key` (or `[key, end)`) from revision `from`.
   * @param key - the key or range start
   * @param end - range end, or `undefined` for one key
   * @param from - first revision of interest
   * @param noPut - deliver only deletions
   * @param listener - receives events, or `undefined` when the watch was reset
   */
  watch(key: Buffer, end: Buffer | undefined, from: bigint, noPut: boolean, listener: WatchListener): Watch {
    const watch = new Watch(key, end, from, noPut, listener);
    this.#all.add(watch);
    this.#queue.push(watch);
    if (this.#stream !== undefined) this.#createNext();
    else this.#open();
    return watch;
  }

  /**
   * Ends a watch; its listener is not called again.
   * @param watch - a watch of this hub
   */
  cancel(watch: Watch): void {
    if (watch.state === State.Done) return;
    const previous = watch.state;
    watch.state = State.Done;
    this.#all.delete(watch);
    if (previous === State.Active && watch.id !== undefined) {
      this.#active.delete(watch.id);
      if (this.#all.size > 0) this.#stream?.write({ cancel_request: { watch_id: watch.id } });
    }
    // A watch still being created is cancelled when its `created` answer arrives.
    if (this.#all.size === 0) this.#close();
  }

  /**
   * Called when a waiter found by reading that something it watches changed without an event:
   * if the stream has been silent for `silentMs`, it is presumed stuck (a paused member) and
   * re-opened, possibly on another member; watches resume where they were.
   * @param silentMs - how long without any message counts as stuck
   */
  suspect(silentMs: number): void {
    const now = Date.now();
    if (this.#stream === undefined || now - this.#lastMessage < silentMs || now - this.#lastReset < silentMs) return;
    this.#lastReset = now;
    this.#fail(this.#stream);
  }

  #open(): void {
    if (this.#connecting || this.#stream !== undefined || this.#all.size === 0 || this.#reconnectTimer !== undefined)
      return;
    this.#connecting = true;
    this.#client.watchClient.watch().then(
      (stream) => {
        this.#connecting = false;
        if (this.#all.size === 0) {
          stream.on('error', () => {});
          closeStream(stream);
          return;
        }
        this.#stream = stream;
        this.#lastMessage = Date.now();
        stream.on('data', (response) => this.#onData(stream, response));
        stream.on('error', () => this.#fail(stream));
        stream.on('end', () => this.#fail(stream));
        this.#createNext();
      },
      () => {
        this.#connecting = false;
        this.#scheduleReconnect();
      },
    );
  }

  #close(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#creating = undefined;
    this.#queue = [];
    this.#active.clear();
    if (this.#reconnectTimer !== undefined) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = undefined;
    }
    if (stream !== undefined) closeStream(stream);
  }

  #fail(stream: Stream): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    closeStream(stream);
    this.#creating = undefined;
    this.#active.clear();
    // Re-create every live watch from where it stopped, in registration order.
    this.#queue = [];
    for (const watch of this.#all) {
      watch.state = State.Queued;
      watch.id = undefined;
      this.#queue.push(watch);
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#all.size === 0 || this.#reconnectTimer !== undefined) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, 1000);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#open();
    }, delay);
    this.#reconnectTimer.unref?.();
  }

  #createNext(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#creating !== undefined) return;
    let watch = this.#queue.shift();
    while (watch !== undefined && watch.state === State.Done) watch = this.#queue.shift();
    if (watch === undefined) return;
    this.#creating = watch;
    watch.state = State.Creating;
    stream.write({
      create_request: {
        key: watch.key,
        ...(watch.end === undefined ? {} : { range_end: watch.end }),
        start_revision: watch.next.toString(),
        ...(watch.noPut ? { filters: [FILTER_NOPUT] } : {}),
      },
    });
  }

  #onData(stream: Stream, response: IWatchResponse): void {
    if (stream !== this.#stream) return;
    this.#lastMessage = Date.now();
    if (response.created) {
      // etcd answers the creates of one stream in order, and we send one at a time.
      const watch = this.#creating;
      this.#creating = undefined;
      this.#backoff = 25;
      if (watch !== undefined) {
        if (response.canceled) {
          this.#reset(watch);
        } else if (watch.state === State.Done) {
          stream.write({ cancel_request: { watch_id: response.watch_id } });
        } else {
          watch.id = response.watch_id;
          watch.state = State.Active;
          this.#active.set(response.watch_id, watch);
        }
      }
      this.#createNext();
      return;
    }
    const watch = this.#active.get(response.watch_id);
    if (watch === undefined) return;
    if (response.canceled) {
      // Compacted past our revision, or cancelled by the server: the owner must re-read.
      this.#active.delete(response.watch_id);
      this.#reset(watch);
      return;
    }
    const events = response.events;
    if (events.length === 0) return;
    for (const event of events) {
      const revision = BigInt(event.kv.mod_revision) + 1n;
      if (revision > watch.next) watch.next = revision;
    }
    watch.listener(events);
  }

  #reset(watch: Watch): void {
    if (watch.state === State.Done) return;
    watch.state = State.Done;
    this.#all.delete(watch);
    watch.listener(undefined);
    if (this.#all.size === 0) this.#close();
  }
}
