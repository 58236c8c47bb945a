import { describe, expect, it } from 'vitest';
import { blockingTimeout, checkNamedRegion, placeNamedRegion } from '../src/named-region.js';

const invalid = { code: 'ERR_CF_INVALID_ARG' };

describe('named regions (for the Shared* primitives built on this package)', () => {
  it('places a zeroed region with the given or a generated name', () => {
    const buffer = new SharedArrayBuffer(32);
    new Int32Array(buffer).fill(-1);
    const named = placeNamedRegion({ buffer, byteOffset: 8, name: 'jobs' }, 'shared-thing', 16, 8);
    expect(named).toEqual({ buffer, byteOffset: 8, name: 'jobs' });
    expect(Array.from(new Int32Array(buffer))).toEqual([-1, -1, 0, 0, 0, 0, -1, -1]);
    const first = placeNamedRegion(undefined, 'shared-thing', 4, 4);
    const second = placeNamedRegion({}, 'shared-thing', 4, 4);
    expect(first.name).toMatch(/^shared-thing#\d+$/);
    expect(second.name).not.toBe(first.name);
    expect(first.buffer.byteLength).toBe(4);
  });

  it('rejects bad options and handles with typed errors', () => {
    expect(() => placeNamedRegion('x', 'k', 4, 4)).toThrow(expect.objectContaining(invalid));
    expect(() => placeNamedRegion({ name: 7 }, 'k', 4, 4)).toThrow(TypeError);
    expect(() => placeNamedRegion({ name: '' }, 'k', 4, 4)).toThrow(expect.objectContaining(invalid));
    expect(() => placeNamedRegion({ buffer: new SharedArrayBuffer(8), byteOffset: 2 }, 'k', 4, 4)).toThrow(
      /multiple of 4/,
    );
    const buffer = new SharedArrayBuffer(16);
    const handle = { buffer, byteOffset: 0, name: 'ok' };
    expect(checkNamedRegion(handle, 16, 8)).toBe(handle);
    expect(() => checkNamedRegion(null as never, 16, 8)).toThrow(TypeError);
    expect(() => checkNamedRegion({ buffer, byteOffset: 0 } as never, 16, 8)).toThrow(/handle.name/);
    expect(() => checkNamedRegion({ ...handle, byteOffset: 8 }, 16, 8)).toThrow(RangeError);
    expect(() => checkNamedRegion({ ...handle, buffer: new ArrayBuffer(16) as never }, 16, 8)).toThrow(TypeError);
  });

  it('checks blocking timeouts as core checks async ones', () => {
    expect(blockingTimeout(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(blockingTimeout(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(blockingTimeout(0)).toBe(0);
    expect(blockingTimeout(2.5)).toBe(2.5);
    for (const bad of [-1, Number.NaN, 2 ** 31]) expect(() => blockingTimeout(bad)).toThrow(RangeError);
    expect(() => blockingTimeout('5')).toThrow(expect.objectContaining(invalid));
  });
});
