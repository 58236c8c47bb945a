import type { AcquireOptions } from './contracts.js';

/**
 * The longest wait a timer can express (2^31 - 1 ms, about 24.8 days); longer timeouts are
 * rejected, since Node would turn them into 1 ms.
 * @example
 * ```ts
 * if (deadline - now > MAX_TIMEOUT) throw invalidArgument('range', 'options.deadline', deadline, 'at most 24 days ahead');
 * ```
 */
export const MAX_TIMEOUT = 2_147_483_647;
/**
 * The lowest-urgency priority accepted (priorities are integers from 0 to this).
 * @example
 * ```ts
 * checkInteger(priority, 'options.priority', 0, MAX_PRIORITY);
 * ```
 */
export const MAX_PRIORITY = 1000;

/**
 * A `TypeError` or `RangeError` raised for a bad argument; `code` is always `ERR_CF_INVALID_ARG`.
 * @example
 * ```ts
 * const error: InvalidArgumentError = invalidArgument('range', 'permits', 0, 'an integer from 1 to 10');
 * ```
 */
export type InvalidArgumentError = (TypeError | RangeError) & { readonly code: 'ERR_CF_INVALID_ARG' };

// Longest part of a received value quoted in a message: a 1 MB name must not end up in a log line.
const SHOWN = 40;

function clip(text: string): string {
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text;
}

// JSON.stringify escapes C0 controls and lone surrogates; this also escapes DEL, C1 controls, format
// characters (bidi overrides, zero-width) and line separators, so a name cannot disguise a log line.
const UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

function quote(text: string): string {
  return JSON.stringify(text).replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * Describes a received value for an error message, briefly and safely: long strings, symbol
 * descriptions, bigints and class tags are cut to 40 characters, control, format (bidi) and
 * line-separator characters are escaped, and hostile objects (throwing getters, revoked proxies) cannot make it throw.
 * @param value - anything
 * @returns a short description such as `"abc"`, `NaN`, `Symbol("id")`, `an object (Map)`
 * @example
 * ```ts
 * describeValue('x'.repeat(100)); // '"xxxx…" (100 characters)'
 * describeValue(-0);              // '-0'
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.length > SHOWN ? `${quote(clip(value))} (${value.length} characters)` : quote(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint': {
      const digits = String(value);
      return digits.length > SHOWN ? `a bigint of ${digits.length} characters (${clip(digits)}n)` : `${digits}n`;
    }
    case 'symbol':
      return value.description === undefined ? 'Symbol()' : `Symbol(${quote(clip(value.description))})`;
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      try {
        if (Array.isArray(value)) return `an array (length ${value.length})`;
        const tag = quote(clip(Object.prototype.toString.call(value).slice(8, -1)));
        return `an object (${tag.slice(1, -1)})`;
      } catch {
        // A revoked proxy or a throwing Symbol.toStringTag getter: the message must still be built.
        return 'an object';
      }
  }
}

/**
 * Builds the error every @cf function throws for a bad argument.
 * @param kind - `'type'` for a wrong type (TypeError), `'range'` for a wrong value (RangeError)
 * @param name - the argument's name as the caller wrote it, e.g. `options.timeout`
 * @param value - what was received
 * @param allowed - what is allowed, e.g. `a non-negative number of milliseconds`
 * @returns the error, to be thrown
 * @example
 * ```ts
 * throw invalidArgument('range', 'permits', permits, 'an integer from 1 to 10');
 * ```
 */
export function invalidArgument(
  kind: 'type' | 'range',
  name: string,
  value: unknown,
  allowed: string,
): InvalidArgumentError {
  const message = `Invalid ${name}: received ${describeValue(value)}; expected ${allowed}.`;
  const error = (kind === 'type' ? new TypeError(message) : new RangeError(message)) as InvalidArgumentError;
  Object.defineProperty(error, 'code', { value: 'ERR_CF_INVALID_ARG', enumerable: true });
  return error;
}

/**
 * Checks that `value` is an integer in `[min, max]`.
 * @param value - the argument
 * @param name - its name, for the message
 * @param min - smallest allowed
 * @param max - largest allowed
 * @returns `value`, typed
 * @throws TypeError if not a number; RangeError if not an integer or out of range
 * @example `checkInteger(permits, 'permits', 1, this.maxPermits)`
 */
export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgument('type', name, value, `an integer from ${min} to ${max}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument('range', name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Checks a duration in milliseconds: a finite number greater than 0 (or >= 0 with `allowZero`).
 * @param value - the argument
 * @param name - its name
 * @param allowZero - whether 0 is allowed
 * @returns `value`
 * @throws TypeError if not a number; RangeError if NaN, infinite, negative or too large
 * @example `checkDuration(options.ttl, 'options.ttl')`
 */
export function checkDuration(value: unknown, name: string, allowZero = false): number {
  const allowed = `a finite number of milliseconds ${allowZero ? '>= 0' : '> 0'} and <= ${MAX_TIMEOUT}`;
  if (typeof value !== 'number') throw invalidArgument('type', name, value, allowed);
  if (!(allowZero ? value >= 0 : value > 0) || value > MAX_TIMEOUT)
    throw invalidArgument('range', name, value, allowed);
  return value;
}

/**
 * Checks a wait limit: `undefined`, `Infinity` (no limit) or a duration >= 0.
 * @param value - the argument
 * @param name - its name
 * @throws TypeError / RangeError as {@link checkDuration}
 * @example `checkTimeout(options.timeout, 'options.timeout')`
 */
export function checkTimeout(value: unknown, name: string): void {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return;
  const allowed = `a number of milliseconds from 0 to ${MAX_TIMEOUT}, or Infinity`;
  if (typeof value !== 'number') throw invalidArgument('type', name, value, allowed);
  if (!(value >= 0) || value > MAX_TIMEOUT) throw invalidArgument('range', name, value, allowed);
}

/**
 * Checks that `value` is an `AbortSignal` (or `undefined`).
 * @param value - the argument
 * @param name - its name
 * @throws TypeError otherwise
 * @example `checkSignal(options.signal, 'options.signal')`
 */
export function checkSignal(value: unknown, name: string): void {
  if (value === undefined) return;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function' ||
    typeof (value as AbortSignal).removeEventListener !== 'function'
  ) {
    throw invalidArgument('type', name, value, 'an AbortSignal or undefined');
  }
}

/**
 * Checks a resource name: a non-empty string of at most `maxLength` characters.
 * @param value - the argument
 * @param name - its name
 * @param maxLength - longest allowed (default 1024)
 * @returns `value`
 * @throws TypeError if not a string; RangeError if empty or too long
 * @example `checkName(name, 'name')`
 */
export function checkName(value: unknown, name: string, maxLength = 1024): string {
  const allowed = `a non-empty string of at most ${maxLength} characters`;
  if (typeof value !== 'string') throw invalidArgument('type', name, value, allowed);
  if (value.length === 0 || value.length > maxLength) throw invalidArgument('range', name, value, allowed);
  return value;
}

/**
 * Checks that `value` is a function.
 * @param value - the argument
 * @param name - its name
 * @throws TypeError otherwise
 * @example `checkFunction(fn, 'fn')`
 */
export function checkFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw invalidArgument('type', name, value, 'a function');
}

/**
 * Checks that `value` is a plain options object or `undefined`.
 * @param value - the argument
 * @param name - its name
 * @throws TypeError otherwise
 * @example `checkOptionsObject(options, 'options')`
 */
export function checkOptionsObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidArgument('type', name, value, 'an options object or undefined');
  }
}

/**
 * Validates `AcquireOptions` once, at the public boundary: `signal`, `timeout` and `priority`.
 * @param options - the argument
 * @param name - its name (default `options`)
 * @throws TypeError / RangeError naming the bad field
 * @example
 * ```ts
 * acquire(options?: AcquireOptions) { if (options !== undefined) checkAcquireOptions(options); ... }
 * ```
 */
export function checkAcquireOptions(options: unknown, name = 'options'): asserts options is AcquireOptions | undefined {
  if (options === undefined) return;
  checkOptionsObject(options, name);
  const { signal, timeout, priority } = options as AcquireOptions;
  checkSignal(signal, `${name}.signal`);
  checkTimeout(timeout, `${name}.timeout`);
  if (priority !== undefined) checkInteger(priority, `${name}.priority`, 0, MAX_PRIORITY);
}
