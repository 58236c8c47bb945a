import type { RedisClient } from './client.js';

/** Called on a message on the channel, and whenever a missed message is possible (new subscription, reconnect). */
export type Wake = () => void;

const LINGER_MS = 2000;
const subscribers = new WeakMap<RedisClient, Subscriber>();

/**
 * One pub/sub connection per client (`client.duplicate()`), shared by every lock of that client.
 * Channels are reference-counted; an unused channel is unsubscribed after a short linger (so a
 * lock that is contended again and again does not resubscribe each time), and the connection is
 * closed when no channel is left, so it never keeps a finished process alive for long.
 */
export class Subscriber {
  readonly #client: RedisClient;
  #connection: RedisClient | undefined = undefined;
  readonly #listeners = new Map<string, Set<Wake>>();
  readonly #lingering = new Map<string, ReturnType<typeof setTimeout>>();

  private constructor(client: RedisClient) {
    this.#client = client;
    // When the user closes their client, close ours too instead of waiting for the linger.
    client.once('end', () => {
      if (subscribers.get(client) === this) subscribers.delete(client);
      this.#listeners.clear();
      this.#close();
    });
  }

  /** The subscriber of `client`, created on first use. */
  static of(client: RedisClient): Subscriber {
    let subscriber = subscribers.get(client);
    if (subscriber === undefined) {
      subscriber = new Subscriber(client);
      subscribers.set(client, subscriber);
    }
    return subscriber;
  }

  /**
   * Calls `wake` on every message on `channel` until the returned function is called. `wake`
   * is also called once the subscription is confirmed and after each reconnect, because a
   * message may have been published while no subscription was in place.
   */
  listen(channel: string, wake: Wake): () => void {
    let set = this.#listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(channel, set);
      const lingering = this.#lingering.get(channel);
      if (lingering === undefined) this.#subscribe(channel);
      else {
        clearTimeout(lingering);
        this.#lingering.delete(channel);
      }
    }
    set.add(wake);
    return () => this.#unlisten(channel, wake);
  }

  #unlisten(channel: string, wake: Wake): void {
    const set = this.#listeners.get(channel);
    if (set === undefined || !set.delete(wake) || set.size > 0) return;
    this.#listeners.delete(channel);
    const timer = setTimeout(() => {
      this.#lingering.delete(channel);
      if (this.#listeners.has(channel)) return;
      const connection = this.#connection;
      if (this.#listeners.size === 0 && this.#lingering.size === 0) this.#close();
      else connection?.unsubscribe(channel).catch(ignore);
    }, LINGER_MS);
    timer.unref?.();
    this.#lingering.set(channel, timer);
  }

  #connect(): RedisClient {
    let connection = this.#connection;
    if (connection === undefined) {
      connection = (this.#client as { duplicate(): RedisClient }).duplicate();
      this.#connection = connection;
      connection.on('message', (channel: string) => this.#notify(channel));
      // Errors surface through failed commands and polling; without a listener ioredis would log them.
      connection.on('error', ignore);
      let first = true;
      connection.on('ready', () => {
        if (first) {
          first = false;
          return;
        }
        // ioredis resubscribes on reconnect; anything published in between is lost, so look again.
        for (const channel of this.#listeners.keys()) this.#notify(channel);
      });
    }
    return connection;
  }

  #subscribe(channel: string): void {
    this.#connect()
      .subscribe(channel)
      // A subscription that could not be made is covered by the poll fallback; the channel is
      // subscribed again the next time it gains a first listener.
      .then(() => this.#notify(channel), ignore);
  }

  #notify(channel: string): void {
    const set = this.#listeners.get(channel);
    if (set === undefined) return;
    for (const wake of set) wake();
  }

  #close(): void {
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    connection.quit().catch(() => connection.disconnect());
  }
}

function ignore(): void {}
