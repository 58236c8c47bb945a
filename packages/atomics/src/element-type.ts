import { invalidArgument } from '@cf/core';

/** The element types the shared queues and stacks store. */
export type ElementType =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'float32'
  | 'float64'
  | 'bigint64'
  | 'biguint64';

/** The JavaScript value of an element: `bigint` for the 64-bit integer types, else `number`. */
export type ElementValue<T extends ElementType> = T extends 'bigint64' | 'biguint64' ? bigint : number;

/** The typed array of an element type (for bulk push and pop). */
export type ElementArray<T extends ElementType> = {
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}[T];

/** What this package needs to know about an element type. */
export interface ElementInfo {
  readonly code: number;
  readonly bytes: number;
  readonly bigint: boolean;
  readonly create: (buffer: SharedArrayBuffer, byteOffset: number, length: number) => ElementArray<ElementType>;
  readonly arrayName: string;
  readonly View: abstract new (...args: never[]) => ElementArray<ElementType>;
}

const info = (
  code: number,
  View: {
    new (buffer: SharedArrayBuffer, byteOffset: number, length: number): ElementArray<ElementType>;
    BYTES_PER_ELEMENT: number;
    name: string;
  },
  bigint = false,
): ElementInfo => ({
  code,
  bytes: View.BYTES_PER_ELEMENT,
  bigint,
  create: (buffer, byteOffset, length) => new View(buffer, byteOffset, length),
  arrayName: View.name,
  View,
});

const TYPES: Readonly<Record<ElementType, ElementInfo>> = {
  int8: info(1, Int8Array),
  uint8: info(2, Uint8Array),
  int16: info(3, Int16Array),
  uint16: info(4, Uint16Array),
  int32: info(5, Int32Array),
  uint32: info(6, Uint32Array),
  float32: info(7, Float32Array),
  float64: info(8, Float64Array),
  bigint64: info(9, BigInt64Array, true),
  biguint64: info(10, BigUint64Array, true),
};

const NAMES = Object.keys(TYPES) as ElementType[];

/**
 * Checks an element type argument.
 * @internal
 */
export function elementInfo(type: unknown, name = 'type'): ElementInfo {
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
    throw invalidArgument(
      typeof type === 'string' ? 'range' : 'type',
      name,
      type,
      `one of ${NAMES.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  return TYPES[type as ElementType];
}

/** @internal The type stored under `code` in a region header, or `undefined`. */
export function elementTypeOfCode(code: number): ElementType | undefined {
  return NAMES.find((name) => TYPES[name].code === code);
}

/** @internal Checks one element value's JavaScript type (numbers for number types, bigints for 64-bit ones). */
export function checkElement(value: unknown, bigint: boolean, name: string): void {
  if (bigint ? typeof value !== 'bigint' : typeof value !== 'number') {
    throw invalidArgument('type', name, value, bigint ? 'a bigint' : 'a number');
  }
}

/** @internal Checks a typed array argument of the right kind for bulk operations. */
export function checkElementArray(value: unknown, info: ElementInfo, name: string): void {
  // instanceof first: cheap on the hot path; the tag check accepts arrays from other realms.
  if (value instanceof info.View) return;
  if (Object.prototype.toString.call(value) !== `[object ${info.arrayName}]`) {
    throw invalidArgument('type', name, value, `a ${info.arrayName}`);
  }
}
