import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtomicBigInt64 } from '../src/atomic-bigint64.js';
import { AtomicBigInt64Array } from '../src/atomic-bigint64-array.js';
import { AtomicBoolean } from '../src/atomic-boolean.js';
import { AtomicInt32 } from '../src/atomic-int32.js';
import { AtomicInt32Array } from '../src/atomic-int32-array.js';
import { AtomicMarkableReference } from '../src/atomic-markable-reference.js';
import { AtomicStampedReference } from '../src/atomic-stamped-reference.js';
import { AtomicUint32 } from '../src/atomic-uint32.js';
import { AtomicUint32Array } from '../src/atomic-uint32-array.js';
import { StripedCounter } from '../src/striped-counter.js';

const invalid = { code: 'ERR_CF_INVALID_ARG' };

describe('AtomicInt32', () => {
  it('implements every operation with 32-bit wrap-around', () => {
    const atomic = new AtomicInt32(5);
    expect(atomic.get()).toBe(5);
    expect(atomic.getAndSet(7)).toBe(5);
    expect(atomic.compareAndSet(6, 1)).toBe(false);
    expect(atomic.compareAndSet(7, 1)).toBe(true);
    expect(atomic.compareAndExchange(9, 3)).toBe(1);
    expect(atomic.getAndAdd(10)).toBe(1);
    expect(atomic.addAndGet(-1)).toBe(10);
    expect(atomic.increment()).toBe(11);
    expect(atomic.decrement()).toBe(10);
    expect(atomic.updateAndGet((v) => v * 3)).toBe(30);
    expect(atomic.accumulateAndGet(4, Math.max)).toBe(30);
    atomic.set(2 ** 31 - 1);
    expect(atomic.increment()).toBe(-(2 ** 31));
    expect(atomic.decrement()).toBe(2 ** 31 - 1);
    expect(atomic.addAndGet(2)).toBe(-(2 ** 31) + 1);
  });

  it('rejects non-int32 values with typed errors and stays usable', () => {
    const atomic = new AtomicInt32(1);
    for (const bad of [Number.NaN, 1.5, 2 ** 31, -(2 ** 31) - 1, Number.POSITIVE_INFINITY]) {
      expect(() => atomic.set(bad)).toThrow(RangeError);
      expect(() => atomic.set(bad)).toThrow(expect.objectContaining(invalid));
    }
    expect(() => atomic.set('1' as never)).toThrow(TypeError);
    expect(() => atomic.getAndAdd(1n as never)).toThrow(TypeError);
    expect(() => atomic.updateAndGet('x' as never)).toThrow(TypeError);
    expect(() => atomic.updateAndGet(() => 0.5)).toThrow(RangeError);
    expect(() => new AtomicInt32(Number.NaN)).toThrow(RangeError);
    expect(atomic.get()).toBe(1);
  });

  it('shares memory with AtomicInt32.from(handle) and with a placement in a larger buffer', () => {
    const buffer = new SharedArrayBuffer(16);
    const a = new AtomicInt32(3, { buffer, byteOffset: 8 });
    const b = AtomicInt32.from(a.handle);
    b.increment();
    expect(a.get()).toBe(4);
    expect(new Int32Array(buffer)[2]).toBe(4);
    expect(structuredClone(a.handle).byteOffset).toBe(8);
  });

  it('validates regions: buffer type, alignment, size, offsets', () => {
    const buffer = new SharedArrayBuffer(8);
    expect(() => AtomicInt32.from({ buffer: new ArrayBuffer(8) as never, byteOffset: 0 })).toThrow(TypeError);
    expect(() => AtomicInt32.from({ buffer: new Int32Array(2) as never, byteOffset: 0 })).toThrow(TypeError);
    expect(() => AtomicInt32.from(null as never)).toThrow(TypeError);
    expect(() => AtomicInt32.from({ buffer, byteOffset: 2 })).toThrow(/multiple of 4/);
    expect(() => AtomicInt32.from({ buffer, byteOffset: 8 })).toThrow(RangeError);
    expect(() => AtomicInt32.from({ buffer, byteOffset: -4 })).toThrow(RangeError);
    expect(() => AtomicInt32.from({ buffer, byteOffset: Number.NaN })).toThrow(RangeError);
    expect(() => AtomicInt32.from({ buffer, byteOffset: '0' as never })).toThrow(TypeError);
    expect(() => new AtomicInt32(0, { byteOffset: 4 })).toThrow(RangeError);
    expect(() => new AtomicInt32(0, 'x' as never)).toThrow(TypeError);
    for (const make of [() => AtomicInt32.from({ buffer, byteOffset: 2 })]) {
      try {
        make();
      } catch (error) {
        expect(error).toMatchObject(invalid);
        expect(String(error)).toContain('handle.byteOffset');
      }
    }
  });
});

describe('AtomicUint32, AtomicBigInt64 and AtomicBoolean', () => {
  it('AtomicUint32 wraps at 2^32 and accepts negative deltas', () => {
    const atomic = new AtomicUint32(0xffffffff);
    expect(atomic.increment()).toBe(0);
    expect(atomic.decrement()).toBe(0xffffffff);
    expect(atomic.addAndGet(-0xffffffff)).toBe(0);
    expect(() => atomic.set(-1)).toThrow(RangeError);
    expect(() => atomic.getAndAdd(2 ** 32)).toThrow(RangeError);
  });

  it('AtomicBigInt64 wraps at 64 bits and rejects numbers', () => {
    const atomic = new AtomicBigInt64(2n ** 63n - 1n);
    expect(atomic.increment()).toBe(-(2n ** 63n));
    expect(atomic.addAndGet(5n)).toBe(-(2n ** 63n) + 5n);
    expect(atomic.compareAndSet(-(2n ** 63n) + 5n, 1n)).toBe(true);
    expect(atomic.updateAndGet((v) => v * 10n)).toBe(10n);
    expect(() => atomic.set(1 as never)).toThrow(TypeError);
    expect(() => atomic.set(2n ** 63n)).toThrow(RangeError);
    expect(() => AtomicBigInt64.from({ buffer: new SharedArrayBuffer(16), byteOffset: 4 })).toThrow(/multiple of 8/);
  });

  it('AtomicBoolean flips and swaps', () => {
    const flag = new AtomicBoolean();
    expect(flag.get()).toBe(false);
    expect(flag.toggle()).toBe(true);
    expect(flag.compareAndSet(false, true)).toBe(false);
    expect(flag.getAndSet(false)).toBe(true);
    expect(() => flag.set(1 as never)).toThrow(TypeError);
  });
});

describe('atomic arrays', () => {
  it('padded arrays put every element on its own 64-byte line', () => {
    const array = new AtomicInt32Array(4, { padded: true });
    expect(array.byteLength).toBe(256);
    expect(AtomicInt32Array.byteLength(4, true)).toBe(256);
    array.set(3, 42);
    expect(new Int32Array(array.handle.buffer)[48]).toBe(42);
    const bigs = new AtomicBigInt64Array(2, { padded: true });
    bigs.increment(1);
    expect(new BigInt64Array(bigs.handle.buffer)[8]).toBe(1n);
    expect(new AtomicUint32Array(3).byteLength).toBe(12);
  });

  it('views elements through at() and rebuilds from handles', () => {
    const array = new AtomicInt32Array(3, { padded: true });
    array.at(2).addAndGet(5);
    const copy = AtomicInt32Array.from(structuredClone(array.handle));
    expect(copy.get(2)).toBe(5);
    expect(copy.length).toBe(3);
  });

  it('rejects bad lengths and indexes', () => {
    expect(() => new AtomicInt32Array(-1)).toThrow(RangeError);
    expect(() => new AtomicInt32Array(0)).toThrow(RangeError);
    expect(() => new AtomicInt32Array(1.5)).toThrow(RangeError);
    expect(() => new AtomicInt32Array(Number.NaN)).toThrow(RangeError);
    const array = new AtomicInt32Array(2);
    for (const index of [-1, 2, 0.5, Number.NaN]) expect(() => array.get(index)).toThrow(RangeError);
    expect(() => array.get('0' as never)).toThrow(TypeError);
    expect(() => AtomicInt32Array.from({ ...array.handle, length: 3 })).toThrow(RangeError);
    expect(() => AtomicInt32Array.from({ ...array.handle, padded: 'yes' as never })).toThrow(TypeError);
  });

  it('matches a plain array model under random operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.integer({ min: -1000, max: 1000 })), { maxLength: 50 }),
        (operations) => {
          const array = new AtomicInt32Array(4, { padded: true });
          const model = [0, 0, 0, 0];
          for (const [index, delta] of operations) {
            expect(array.getAndAdd(index, delta)).toBe(model[index]);
            model[index]! += delta;
          }
          expect([0, 1, 2, 3].map((i) => array.get(i))).toEqual(model);
        },
      ),
    );
  });
});

describe('the three integer types share one implementation', () => {
  const kinds = [
    ['int32', (v: bigint) => Number(BigInt.asIntN(32, v)), (v: bigint) => Number(v)],
    ['uint32', (v: bigint) => Number(BigInt.asUintN(32, v)), (v: bigint) => Number(v)],
    ['int64', (v: bigint) => BigInt.asIntN(64, v), (v: bigint) => v],
  ] as const;
  const create = {
    int32: () => [new AtomicInt32(), new AtomicInt32Array(2, { padded: true })] as const,
    uint32: () => [new AtomicUint32(), new AtomicUint32Array(2)] as const,
    int64: () => [new AtomicBigInt64(), new AtomicBigInt64Array(2, { padded: true })] as const,
  };
  const step = fc.oneof(
    fc.constant(['increment'] as const),
    fc.constant(['decrement'] as const),
    fc.tuple(fc.constant('addAndGet' as const), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 })),
  );

  it.each(kinds)('%s: increments, decrements and additions wrap like a BigInt model', (kind, wrap, toValue) => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (steps, start) => {
        const [scalar, array] = create[kind]();
        let model = BigInt(start);
        (scalar.set as (value: unknown) => void)(toValue(model));
        (array.set as (index: number, value: unknown) => void)(1, toValue(model));
        for (const [name, delta] of steps) {
          model += name === 'increment' ? 1n : name === 'decrement' ? -1n : BigInt(delta!);
          const operand = kind === 'int64' ? BigInt(delta ?? 0) : (delta ?? 0);
          const fromScalar = name === 'addAndGet' ? scalar.addAndGet(operand as never) : scalar[name]();
          const fromArray = name === 'addAndGet' ? array.addAndGet(1, operand as never) : array[name](1);
          expect(fromScalar).toBe(wrap(model));
          expect(fromArray).toBe(wrap(model));
        }
        expect(scalar.get()).toBe(wrap(model));
        expect(array.get(0)).toBe(kind === 'int64' ? 0n : 0);
      }),
    );
  });
});

describe('AtomicStampedReference', () => {
  it('catches a constructed ABA: the index is back, the stamp is not', () => {
    const top = new AtomicStampedReference(1, 0);
    const seen = top.get(); // thread 1 reads A=1
    // thread 2: A -> B -> A, bumping the stamp each time
    expect(top.compareAndSet(1, 2, 0, 1)).toBe(true);
    expect(top.compareAndSet(2, 1, 1, 2)).toBe(true);
    expect(top.getIndex()).toBe(seen.index);
    // thread 1's swap, planned on the stale read, fails
    expect(top.compareAndSet(seen.index, 3, seen.stamp, seen.stamp + 1)).toBe(false);
    expect(top.get()).toEqual({ index: 1, stamp: 2 });
  });

  it('packs index -1 to 2^32 - 2 and stamps to 2^32 - 1', () => {
    const reference = new AtomicStampedReference(-1, 0xffffffff);
    expect(reference.get()).toEqual({ index: -1, stamp: 0xffffffff });
    reference.set(0xfffffffe, 0);
    expect(reference.get()).toEqual({ index: 0xfffffffe, stamp: 0 });
    expect(reference.attemptStamp(0xfffffffe, 7)).toBe(true);
    expect(reference.getStamp()).toBe(7);
    expect(() => reference.set(-2, 0)).toThrow(RangeError);
    expect(() => reference.set(0, 2 ** 32)).toThrow(RangeError);
  });

  it('round-trips any index and stamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 0xfffffffe }), fc.integer({ min: 0, max: 0xffffffff }), (index, stamp) => {
        const reference = new AtomicStampedReference(index, stamp);
        expect(AtomicStampedReference.from(reference.handle).get()).toEqual({ index, stamp });
      }),
    );
  });
});

describe('AtomicMarkableReference', () => {
  it('changes index and mark together', () => {
    const next = new AtomicMarkableReference(3, false);
    expect(next.compareAndSet(3, 3, true, false)).toBe(false);
    expect(next.compareAndSet(3, 3, false, true)).toBe(true);
    expect(next.get()).toEqual({ index: 3, marked: true });
    expect(next.attemptMark(4, false)).toBe(false);
    next.set(-1, false);
    expect(next.get()).toEqual({ index: -1, marked: false });
    next.set(2 ** 31 - 2, true);
    expect(next.get()).toEqual({ index: 2 ** 31 - 2, marked: true });
    expect(() => next.set(2 ** 31 - 1, true)).toThrow(RangeError);
  });
});

describe('StripedCounter', () => {
  it('gives each handle its own cell and sums them', () => {
    const counter = new StripedCounter({ cells: 3 });
    expect(counter.cells).toBe(4);
    const handles = [counter, StripedCounter.from(counter.handle), StripedCounter.from(counter.handle)];
    for (const [i, handle] of handles.entries()) handle.add(i + 1);
    counter.increment();
    counter.decrement();
    expect(counter.sum()).toBe(6);
    const cells = new Int32Array(counter.handle.buffer);
    expect([16, 32, 48].map((i) => cells[i])).toEqual([1, 2, 3]);
    expect(counter.sumThenReset()).toBe(6);
    expect(counter.sum()).toBe(0);
  });

  it('counts past 2^32: running counts move into 64-bit totals without loss', () => {
    const counter = new StripedCounter({ cells: 1 });
    counter.add(2 ** 40);
    counter.add(-1);
    expect(counter.sum()).toBe(2 ** 40 - 1);
    const running = new Int32Array(counter.handle.buffer);
    let expected = 2 ** 40 - 1;
    for (let i = 0; i < 40; i++) {
      counter.add(2 ** 24 - 1); // 40 of these pass 2^29 in the running count: moved to the total
      expected += 2 ** 24 - 1;
      expect(Math.abs(running[16]!)).toBeLessThan(2 ** 29);
    }
    for (let i = 0; i < 5; i++) counter.increment();
    expect(counter.sum()).toBe((expected += 5));
    for (let i = 0; i < 80; i++) counter.add(-(2 ** 24 - 1));
    counter.decrement();
    expected -= 80 * (2 ** 24 - 1) + 1;
    expect(Math.abs(running[16]!)).toBeLessThan(2 ** 29);
    expect(counter.sumBigInt()).toBe(BigInt(expected));
    expect(counter.sumThenReset()).toBe(expected);
    expect(counter.sum()).toBe(0);
  });

  it('rejects non-integers and bad cell counts', () => {
    const counter = new StripedCounter({ cells: 1 });
    expect(() => counter.add(0.5)).toThrow(RangeError);
    expect(() => counter.add('1' as never)).toThrow(TypeError);
    expect(() => new StripedCounter({ cells: 0 })).toThrow(RangeError);
    expect(() => new StripedCounter({ cells: 2000 })).toThrow(RangeError);
    expect(() => StripedCounter.from({ buffer: new SharedArrayBuffer(128), byteOffset: 0 })).toThrow(/StripedCounter/);
  });
});
