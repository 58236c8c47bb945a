// Test helpers for worker_threads tests, shared by @cf/atomics, and the shared-memory tests of
// @cf/locks and @cf/sync (which import this file by relative path: a private workspace package
// would need an install step for three small helpers).
import { Worker } from 'node:worker_threads';

/** A worker running a script, with a queue of the messages it posts. */
export class TestWorker {
  readonly worker: Worker;
  readonly exited: Promise<number>;
  #messages: unknown[] = [];
  #waiting: ((message: unknown) => void)[] = [];
  #error: unknown;
  #hasExited = false;

  /**
   * @param script - the worker script, e.g. `new URL('./workers/scenario.mjs', import.meta.url)`
   * @param workerData - posted to the worker as `workerData`
   */
  constructor(script: URL, workerData: unknown) {
    this.worker = new Worker(script, { workerData });
    this.worker.on('message', (message) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#messages.push(message);
      else waiter(message);
    });
    this.worker.on('error', (error) => {
      this.#error = error;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.#hasExited = true;
        resolve(code);
      });
    });
  }

  /** `true` once the thread ended. */
  get hasExited(): boolean {
    return this.#hasExited;
  }

  /** The next message, or a rejection if the worker failed or exited first. */
  next<T = Record<string, unknown>>(timeout = 20_000): Promise<T> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message from the worker within ${timeout} ms`)), timeout);
      this.#waiting.push((message) => {
        clearTimeout(timer);
        resolve(message as T);
      });
      this.exited.then(() => {
        clearTimeout(timer);
        reject(this.#error ?? new Error('the worker exited before posting'));
      });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * The scripts of one test directory's `workers/` folder.
 * @param testFile - the test's `import.meta.url`
 * @returns a function from a script name to a `TestWorker` running it
 */
export function workerScripts(testFile: string): (script: string, workerData: unknown) => TestWorker {
  return (script, workerData) => new TestWorker(new URL(`./workers/${script}`, testFile), workerData);
}

/** Resolves after `ms`; used only to give a worker the chance to do the wrong thing. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh 4-byte shared cell as a `{ buffer, byteOffset }` handle and its view. */
export function sharedCell(): { handle: { buffer: SharedArrayBuffer; byteOffset: number }; view: Int32Array } {
  const buffer = new SharedArrayBuffer(64);
  return { handle: { buffer, byteOffset: 0 }, view: new Int32Array(buffer, 0, 1) };
}
