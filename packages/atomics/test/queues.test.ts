import { isClosedError, isTimeoutError } from '@cf/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteChannel } from '../src/byte-channel.js';
import { eventLoopHolders } from '../src/internal/keep-alive.js';
import { MpmcQueue } from '../src/mpmc-queue.js';
import { SpscQueue } from '../src/spsc-queue.js';
import { TreiberStack } from '../src/treiber-stack.js';

const operations = fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(-1)), { maxLength: 200 });

describe('single-threaded models', () => {
  it('SpscQueue behaves as a bounded FIFO', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const queue = new SpscQueue('int32', 8);
        const model: number[] = [];
        for (const op of ops) {
          if (op >= 0) expect(queue.tryPush(op)).toBe(model.length < 8 && model.push(op) > 0);
          else expect(queue.tryPop()).toBe(model.shift());
          expect(queue.size).toBe(model.length);
        }
      }),
    );
  });

  it('MpmcQueue behaves as a bounded FIFO, across many laps of its positions', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const queue = new MpmcQueue('float64', 4);
        const model: number[] = [];
        for (const op of ops) {
          if (op >= 0) expect(queue.tryPush(op + 0.5)).toBe(model.length < 4 && model.push(op + 0.5) > 0);
          else expect(queue.tryPop()).toBe(model.shift());
        }
        expect(queue.size).toBe(model.length);
      }),
    );
  });

  it('TreiberStack behaves as a bounded LIFO', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const stack = new TreiberStack('uint16', 5);
        const model: number[] = [];
        for (const op of ops) {
          if (op >= 0) expect(stack.tryPush(op)).toBe(model.length < 5 && model.push(op) > 0);
          else expect(stack.tryPop()).toBe(model.pop());
        }
        expect(stack.isEmpty).toBe(model.length === 0);
      }),
    );
  });

  it('SpscQueue indexes wrap at 2^31 (bit 31 is the sleeper flag)', () => {
    const built = new SpscQueue('int32', 8);
    // White box: both index words (bytes 64 and 128) just below the wrap, before attaching.
    const words = new Int32Array(built.handle.buffer, built.handle.byteOffset, 48);
    words[16] = 0x7ffffffc;
    words[32] = 0x7ffffffc;
    const queue = SpscQueue.from(built.handle);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 6; round++) {
      while (queue.tryPush(next)) next++;
      expect(queue.size).toBe(8);
      for (let i = 0; i < 5; i++) expect(queue.tryPop()).toBe(expected++);
      expect(queue.size).toBe(3);
      const batch = new Int32Array(2);
      expect(queue.tryPushMany(Int32Array.of(next, next + 1))).toBe(2);
      next += 2;
      expect(queue.tryPopMany(batch)).toBe(2);
      expect(Array.from(batch)).toEqual([expected, expected + 1]);
      expected += 2;
    }
    expect(words[16]! >= 0 && words[16]! < 64).toBe(true);
  });

  it('SpscQueue bulk operations wrap around the end of the ring', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(20), fc.nat(20)), { maxLength: 40 }), (steps) => {
        const queue = new SpscQueue('uint8', 16);
        const model: number[] = [];
        let next = 0;
        for (const [pushCount, popCount] of steps) {
          const source = Uint8Array.from({ length: pushCount }, () => next++ & 0xff);
          const pushed = queue.tryPushMany(source);
          expect(pushed).toBe(Math.min(pushCount, 16 - model.length));
          model.push(...source.subarray(0, pushed));
          next -= pushCount - pushed;
          const target = new Uint8Array(popCount);
          const popped = queue.tryPopMany(target);
          expect(Array.from(target.subarray(0, popped))).toEqual(model.splice(0, popped));
        }
      }),
    );
  });

  it.each([
    ['float64', (n: number) => n + 0.25, Float64Array],
    ['bigint64', (n: number) => BigInt(n) - 2n ** 40n, BigInt64Array],
  ] as const)('SpscQueue bulk runs of %s, short and long, wrap and keep order', (type, elementOf, View) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(300), fc.nat(300)), { maxLength: 12 }), (steps) => {
        const queue = new SpscQueue(type, 256);
        const model: (number | bigint)[] = [];
        let next = 0;
        for (const [pushCount, popCount] of steps) {
          // Either typed array: the test indexes it with values of its own kind.
          const source = new View(pushCount);
          for (let i = 0; i < pushCount; i++) (source as { [i: number]: number | bigint })[i] = elementOf(next + i);
          const pushed = queue.tryPushMany(source as never);
          expect(pushed).toBe(Math.min(pushCount, 256 - model.length));
          for (let i = 0; i < pushed; i++) model.push(elementOf(next + i));
          next += pushed;
          const target = new View(popCount + 2);
          const popped = queue.tryPopMany(target as never, 1, popCount + 1);
          expect(Array.from<number | bigint>(target.subarray(1, 1 + popped))).toEqual(model.splice(0, popped));
          expect(popped).toBe(Math.min(popCount, popped + model.length));
        }
      }),
    );
  });

  it('ByteChannel indexes wrap at 2^31 (bit 31 is the sleeper flag)', () => {
    const built = new ByteChannel(64);
    // White box: both index words (bytes 64 and 128) just below the wrap, before attaching.
    const words = new Int32Array(built.handle.buffer, built.handle.byteOffset, 48);
    words[16] = 0x7ffffff0;
    words[32] = 0x7ffffff0;
    const channel = ByteChannel.from(built.handle);
    for (let i = 0; i < 40; i++) {
      const message = Uint8Array.from({ length: i % 13 }, (_, j) => i + j);
      expect(channel.trySend(message)).toBe(true);
      expect(channel.tryReceive()).toEqual(message);
    }
    expect(channel.tryReceive()).toBeUndefined();
    expect(words[16]! >= 0 && words[16]! < 1024).toBe(true);
  });

  it('ByteChannel carries messages of every length across the wrap', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 50 }), (messages) => {
        const channel = new ByteChannel(64);
        const model: Uint8Array[] = [];
        for (const message of messages) {
          if (channel.trySend(message)) model.push(message);
          else expect(channel.tryReceive()).toEqual(model.shift());
        }
        for (const expected of model) expect(channel.tryReceive()).toEqual(expected);
        expect(channel.tryReceive()).toBeUndefined();
      }),
    );
  });
});

describe('what every container shares', () => {
  const containers = [
    ['SpscQueue', (capacity: number) => new SpscQueue('int32', capacity), 'fifo'],
    ['MpmcQueue', (capacity: number) => new MpmcQueue('int32', capacity), 'fifo'],
    ['TreiberStack', (capacity: number) => new TreiberStack('int32', capacity), 'lifo'],
  ] as const;

  it.each(containers)('%s: bulk pushes and pops match a model of its order', (_, create, order) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(6), fc.nat(6)), { maxLength: 30 }), (steps) => {
        const container = create(8);
        const model: number[] = [];
        let next = 0;
        for (const [pushes, pops] of steps) {
          const source = Int32Array.from({ length: pushes }, () => next++);
          const pushed = container.tryPushMany(source);
          expect(pushed).toBe(Math.min(pushes, container.capacity - model.length));
          model.push(...source.subarray(0, pushed));
          const target = new Int32Array(pops);
          const popped = container.tryPopMany(target);
          const expected = order === 'fifo' ? model.splice(0, pops) : model.splice(-pops || model.length).reverse();
          expect(Array.from(target.subarray(0, popped))).toEqual(pops === 0 ? [] : expected);
        }
      }),
    );
  });

  it.each(containers)('%s: blocking bulk forms, then async iteration drains and ends at close()', async (_, create) => {
    const container = create(4);
    expect(container.pushManySync(Int32Array.of(1, 2, 3), 0, 3, 0)).toBe(3);
    expect(container.pushManySync(Int32Array.of(4, 5, 6), 0, 3, 5)).toBe(container.capacity - 3);
    const target = new Int32Array(8);
    expect(container.popManySync(target, 2, 8, 0)).toBe(container.capacity);
    expect(container.popManySync(target, 0, 1, 5)).toBe(0);
    container.tryPush(7);
    container.tryPush(8);
    container.close();
    const drained: number[] = [];
    for await (const value of container) drained.push(value as number);
    expect(drained.sort()).toEqual([7, 8]);
    expect(() => container.popManySync(target)).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
    expect(() => container.pushManySync(target)).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
    expect(() => container.tryPushMany(new Float32Array(1) as never)).toThrow(TypeError);
    expect(() => container.popManySync(target, 0, 1, -1)).toThrow(RangeError);
  });

  it('structures built inside another attach to their own regions (nested from() calls)', () => {
    const buffer = new SharedArrayBuffer(4096);
    const queue = new MpmcQueue('int32', 8, { buffer, byteOffset: 0 });
    const stack = new TreiberStack('int32', 8, { buffer, byteOffset: 1024 });
    queue.tryPush(1);
    stack.tryPush(2);
    const [queueCopy, stackCopy] = [MpmcQueue.from(queue.handle), TreiberStack.from(stack.handle)];
    expect([queueCopy.tryPop(), stackCopy.tryPop()]).toEqual([1, 2]);
    expect(() => TreiberStack.from({ ...queue.handle })).toThrow(/TreiberStack/);
    expect(new SpscQueue('int8', 3).capacity).toBe(4);
  });
});

describe('close, timeouts and aborts', () => {
  it('close() wakes an async popper, rejects pushes and drains what remains', async () => {
    for (const queue of [new SpscQueue('int32', 4), new MpmcQueue('int32', 4)]) {
      const empty = queue.pop();
      queue.close();
      await expect(empty).rejects.toSatisfy(isClosedError);
      const refill = queue.constructor === SpscQueue ? new SpscQueue('int32', 4) : new MpmcQueue('int32', 4);
      refill.tryPush(1);
      refill.tryPush(2);
      refill.close();
      expect(() => refill.tryPush(3)).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
      await expect(refill.push(3)).rejects.toSatisfy(isClosedError);
      expect(await refill.pop()).toBe(1);
      expect(refill.popSync()).toBe(2);
      expect(() => refill.popSync()).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
      const drained: number[] = [];
      for await (const value of refill) drained.push(value as number);
      expect(drained).toEqual([]);
    }
  });

  it('close() on a stack and a channel: pushes throw, pops drain then throw', async () => {
    const stack = new TreiberStack('int32', 2);
    stack.tryPush(7);
    const waiting = new TreiberStack('int32', 1);
    const pending = waiting.pop();
    waiting.close();
    await expect(pending).rejects.toSatisfy(isClosedError);
    stack.close();
    expect(() => stack.tryPush(8)).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
    expect(await stack.pop()).toBe(7);
    await expect(stack.pop()).rejects.toSatisfy(isClosedError);
    expect(stack.tryPush.bind(stack, 1)).toThrow();
    const channel = new ByteChannel(32);
    channel.trySend(Uint8Array.of(1, 2));
    channel.close();
    expect(() => channel.trySend(Uint8Array.of(3))).toThrow(expect.objectContaining({ code: 'ERR_CF_CLOSED' }));
    expect(await channel.receive()).toEqual(Uint8Array.of(1, 2));
    await expect(channel.receive()).rejects.toSatisfy(isClosedError);
  });

  it('async waits time out or abort, and release the event loop', async () => {
    const queue = new MpmcQueue('int32', 2);
    const error = await queue.pop({ timeout: 10 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    queue.tryPush(1);
    queue.tryPush(2);
    const controller = new AbortController();
    const blocked = queue.push(3, { signal: controller.signal });
    controller.abort(new Error('no room'));
    await expect(blocked).rejects.toThrow('no room');
    expect(queue.popSync(0)).toBe(1);
    expect(queue.pushSync(3, 0)).toBe(true);
    expect(queue.pushSync(4, 5)).toBe(false);
    expect(eventLoopHolders()).toBe(0);
    const spsc = new SpscQueue('int32', 1);
    expect(spsc.popSync(5)).toBeUndefined();
    const channel = new ByteChannel(16);
    expect(channel.receiveSync(5)).toBeUndefined();
  });

  it('an async pop is served by a later push', async () => {
    const queue = new SpscQueue('float32', 2);
    const next = queue.pop({ timeout: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    queue.tryPush(1.5);
    expect(await next).toBe(1.5);
    const stack = new TreiberStack('bigint64', 1);
    const top = stack.pop();
    stack.tryPush(-5n);
    expect(await top).toBe(-5n);
  });
});

describe('bad input', () => {
  it('rejects wrong types, sizes and regions with typed errors and stays usable', () => {
    const invalid = { code: 'ERR_CF_INVALID_ARG' };
    expect(() => new SpscQueue('int33' as never, 4)).toThrow(expect.objectContaining(invalid));
    expect(() => new SpscQueue(5 as never, 4)).toThrow(TypeError);
    for (const capacity of [0, -1, 1.5, Number.NaN, 2 ** 29]) {
      expect(() => new MpmcQueue('int32', capacity)).toThrow(RangeError);
    }
    expect(() => new TreiberStack('int32', '4' as never)).toThrow(TypeError);
    expect(() => new ByteChannel(8)).toThrow(RangeError);
    const queue = new SpscQueue('int32', 4);
    expect(() => queue.tryPush('1' as never)).toThrow(TypeError);
    expect(() => queue.tryPush(1n as never)).toThrow(TypeError);
    expect(() => queue.tryPushMany(new Float64Array(2) as never)).toThrow(TypeError);
    expect(() => queue.tryPushMany(new Int32Array(2), 1, 3)).toThrow(RangeError);
    expect(() => queue.popSync(-1)).toThrow(RangeError);
    const bigints = new TreiberStack('biguint64', 2);
    expect(() => bigints.tryPush(1 as never)).toThrow(TypeError);
    const channel = new ByteChannel(16);
    expect(() => channel.trySend([1, 2] as never)).toThrow(TypeError);
    expect(() => channel.trySend(new Uint8Array(13))).toThrow(RangeError);
    expect(queue.tryPush(1)).toBe(true);
    expect(queue.tryPop()).toBe(1);
  });

  it('from() refuses regions that do not hold the structure, or handles that do not match it', () => {
    const buffer = new SharedArrayBuffer(1024);
    expect(() => SpscQueue.from({ buffer, byteOffset: 0, type: 'int32', capacity: 4 })).toThrow(/SpscQueue/);
    const queue = new MpmcQueue('int32', 4, { buffer, byteOffset: 64 });
    expect(MpmcQueue.from(structuredClone(queue.handle)).capacity).toBe(4);
    expect(() => MpmcQueue.from({ ...queue.handle, type: 'float64' })).toThrow(RangeError);
    expect(() => MpmcQueue.from({ ...queue.handle, capacity: 8 })).toThrow(RangeError);
    expect(() => MpmcQueue.from({ ...queue.handle, byteOffset: 68 })).toThrow(/multiple of 8/);
    expect(() => SpscQueue.from({ ...queue.handle } as never)).toThrow(/SpscQueue/);
    expect(() => new SpscQueue('int32', 1024, { buffer, byteOffset: 0 })).toThrow(RangeError);
    expect(() => ByteChannel.from({ buffer: new ArrayBuffer(256) as never, byteOffset: 0, capacity: 16 })).toThrow(
      TypeError,
    );
  });
});
