import {
  checkAcquireOptions,
  checkDuration,
  checkFunction,
  checkInteger,
  checkName,
  checkOptionsObject,
  checkSignal,
  checkTimeout,
  describeValue,
  invalidArgument,
  isInvalidArgumentError,
  MAX_PRIORITY,
  MAX_TIMEOUT,
  Priority,
} from '@cf/core';
import { describe, expect, it } from 'vitest';

/** Runs `fn`, expects an invalid-argument error of `kind`, and checks that the message names the argument, the value and what is allowed. */
function expectInvalid(fn: () => unknown, kind: 'type' | 'range', name: string, value: unknown, allowed: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${name} = ${describeValue(value)} to be rejected`).toBeInstanceOf(
    kind === 'type' ? TypeError : RangeError,
  );
  expect(isInvalidArgumentError(caught)).toBe(true);
  const error = caught as Error & { code: string };
  expect(error.code).toBe('ERR_CF_INVALID_ARG');
  expect(error.message).toBe(`Invalid ${name}: received ${describeValue(value)}; expected ${allowed}.`);
  expect(error.message).toContain(allowed);
}

const hostileStrings = [
  '',
  ' ',
  '\u0000',
  'a\nb',
  '\u202egnp.exe',
  '__proto__',
  'constructor',
  '😀',
  'x'.repeat(10_000),
];
const nonNumbers: unknown[] = ['1', '', null, undefined, true, {}, [], 1n, Symbol('n'), () => 1, new Number(1)];

describe('describeValue', () => {
  it('describes primitives exactly', () => {
    expect(describeValue('abc')).toBe('"abc"');
    expect(describeValue(42)).toBe('42');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(describeValue(1.5)).toBe('1.5');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(12n)).toBe('12n');
    expect(describeValue(() => 1)).toBe('a function');
  });

  it('cuts long strings to 40 characters and gives the length', () => {
    const text = describeValue('x'.repeat(1_000_000));
    expect(text).toBe(`"${'x'.repeat(40)}…" (1000000 characters)`);
    expect(describeValue('y'.repeat(40))).toBe(`"${'y'.repeat(40)}"`);
  });

  it('escapes control, format and line-separator characters so a message stays one honest line', () => {
    const text = describeValue('a\nb\u0000c\u007fd\u202ee\u2028f\u200bg');
    for (const raw of ['\n', '\u0000', '\u007f', '\u202e', '\u2028', '\u200b']) expect(text).not.toContain(raw);
    expect(text).toBe('"a\\nb\\u0000c\\u{7f}d\\u{202e}e\\u{2028}f\\u{200b}g"');
  });

  it('describes symbols by their description, cut', () => {
    expect(describeValue(Symbol('id'))).toBe('Symbol("id")');
    expect(describeValue(Symbol())).toBe('Symbol()');
    expect(describeValue(Symbol('s'.repeat(500)))).toBe(`Symbol("${'s'.repeat(40)}…")`);
  });

  it('cuts huge bigints', () => {
    const text = describeValue(10n ** 5000n);
    expect(text.length).toBeLessThan(120);
    expect(text).toContain('5001 characters');
  });

  it('names the kind of object without calling user code that could throw', () => {
    expect(describeValue({})).toBe('an object (Object)');
    expect(describeValue(new Map())).toBe('an object (Map)');
    expect(describeValue([1, 2, 3])).toBe('an array (length 3)');
    expect(describeValue(Object.create(null))).toBe('an object (Object)');
    expect(describeValue({ [Symbol.toStringTag]: 'T'.repeat(1000) })).toBe(`an object (${'T'.repeat(40)}…)`);
    expect(describeValue({ [Symbol.toStringTag]: 'a\nb' })).toBe('an object (a\\nb)');
    const throwing = {
      get [Symbol.toStringTag](): string {
        throw new Error('hostile');
      },
    };
    expect(describeValue(throwing)).toBe('an object');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(describeValue(proxy)).toBe('an object');
    const arrayProxy = new Proxy([], {
      get(): never {
        throw new Error('hostile');
      },
    });
    expect(describeValue(arrayProxy)).toBe('an object');
  });
});

describe('invalidArgument', () => {
  it('builds a TypeError or RangeError with a read-only code and the standard message', () => {
    const error = invalidArgument('range', 'options.ttl', -5, 'a positive number');
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('Invalid options.ttl: received -5; expected a positive number.');
    expect(error.code).toBe('ERR_CF_INVALID_ARG');
    expect(Object.keys(error)).toContain('code');
    expect(() => {
      (error as { code: string }).code = 'other';
    }).toThrow(TypeError);
    expect(invalidArgument('type', 'fn', 1, 'a function')).toBeInstanceOf(TypeError);
  });
});

describe('checkInteger', () => {
  const allowed = 'an integer from 1 to 10';
  it('accepts integers in range and returns them', () => {
    expect(checkInteger(1, 'permits', 1, 10)).toBe(1);
    expect(checkInteger(10, 'permits', 1, 10)).toBe(10);
    expect(checkInteger(0, 'n', 0, 0)).toBe(0);
    expect(checkInteger(Number.MAX_SAFE_INTEGER, 'n', 0, Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('rejects non-numbers with TypeError', () => {
    for (const value of nonNumbers)
      expectInvalid(() => checkInteger(value, 'permits', 1, 10), 'type', 'permits', value, allowed);
  });
  it('rejects NaN, fractions, out-of-range, infinite and huge values with RangeError', () => {
    for (const value of [
      Number.NaN,
      1.5,
      0,
      -1,
      11,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      1e300,
    ]) {
      expectInvalid(() => checkInteger(value, 'permits', 1, 10), 'range', 'permits', value, allowed);
    }
  });
});

describe('checkDuration', () => {
  const positive = `a finite number of milliseconds > 0 and <= ${MAX_TIMEOUT}`;
  const nonNegative = `a finite number of milliseconds >= 0 and <= ${MAX_TIMEOUT}`;
  it('accepts positive durations, fractions included, up to MAX_TIMEOUT', () => {
    expect(checkDuration(1, 'options.ttl')).toBe(1);
    expect(checkDuration(0.5, 'options.ttl')).toBe(0.5);
    expect(checkDuration(MAX_TIMEOUT, 'options.ttl')).toBe(MAX_TIMEOUT);
    expect(checkDuration(0, 'options.ttl', true)).toBe(0);
  });
  it('rejects non-numbers with TypeError', () => {
    for (const value of nonNumbers)
      expectInvalid(() => checkDuration(value, 'options.ttl'), 'type', 'options.ttl', value, positive);
  });
  it('rejects NaN, zero, negative, infinite and too large with RangeError', () => {
    for (const value of [Number.NaN, 0, -0, -1, -0.5, Number.POSITIVE_INFINITY, MAX_TIMEOUT + 1, 1e300]) {
      expectInvalid(() => checkDuration(value, 'options.ttl'), 'range', 'options.ttl', value, positive);
    }
    for (const value of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expectInvalid(() => checkDuration(value, 'ttl', true), 'range', 'ttl', value, nonNegative);
    }
  });
});

describe('checkTimeout', () => {
  const allowed = `a number of milliseconds from 0 to ${MAX_TIMEOUT}, or Infinity`;
  it('accepts undefined, Infinity, 0, fractions and MAX_TIMEOUT', () => {
    for (const value of [undefined, Number.POSITIVE_INFINITY, 0, -0, 2.5, MAX_TIMEOUT]) {
      expect(() => checkTimeout(value, 'options.timeout')).not.toThrow();
    }
  });
  it('rejects non-numbers with TypeError', () => {
    for (const value of nonNumbers.filter((v) => v !== undefined)) {
      expectInvalid(() => checkTimeout(value, 'options.timeout'), 'type', 'options.timeout', value, allowed);
    }
  });
  it('rejects NaN, negative, -Infinity and more than MAX_TIMEOUT with RangeError', () => {
    for (const value of [Number.NaN, -1, -0.001, Number.NEGATIVE_INFINITY, MAX_TIMEOUT + 1, 1e300]) {
      expectInvalid(() => checkTimeout(value, 'options.timeout'), 'range', 'options.timeout', value, allowed);
    }
  });
});

describe('checkSignal', () => {
  const allowed = 'an AbortSignal or undefined';
  it('accepts undefined, real signals (aborted or not) and signal-shaped objects', () => {
    expect(() => checkSignal(undefined, 's')).not.toThrow();
    expect(() => checkSignal(new AbortController().signal, 's')).not.toThrow();
    expect(() => checkSignal(AbortSignal.abort(), 's')).not.toThrow();
    const shaped = { aborted: false, addEventListener() {}, removeEventListener() {} };
    expect(() => checkSignal(shaped, 's')).not.toThrow();
  });
  it('rejects anything else with TypeError', () => {
    const bad: unknown[] = [
      null,
      'signal',
      1,
      true,
      {},
      [],
      new AbortController(),
      { aborted: 'no', addEventListener() {}, removeEventListener() {} },
      { aborted: false, addEventListener() {} },
    ];
    for (const value of bad)
      expectInvalid(() => checkSignal(value, 'options.signal'), 'type', 'options.signal', value, allowed);
  });
});

describe('checkName', () => {
  it('accepts any non-empty string up to the limit, hostile ones included', () => {
    for (const value of hostileStrings.filter((v) => v.length > 0 && v.length <= 1024)) {
      expect(checkName(value, 'name')).toBe(value);
    }
    expect(checkName('x'.repeat(1024), 'name')).toHaveLength(1024);
    expect(checkName('abc', 'name', 3)).toBe('abc');
  });
  it('rejects non-strings with TypeError', () => {
    const allowed = 'a non-empty string of at most 1024 characters';
    for (const value of [1, null, undefined, {}, Symbol('name'), ['a'], new String('a')]) {
      expectInvalid(() => checkName(value, 'name'), 'type', 'name', value, allowed);
    }
  });
  it('rejects empty and too long names with RangeError, without echoing a huge name', () => {
    const allowed = 'a non-empty string of at most 1024 characters';
    expectInvalid(() => checkName('', 'name'), 'range', 'name', '', allowed);
    const huge = 'x'.repeat(1_000_000);
    expectInvalid(() => checkName(huge, 'name'), 'range', 'name', huge, allowed);
    try {
      checkName(huge, 'name');
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
    }
    expectInvalid(
      () => checkName('abcd', 'key', 3),
      'range',
      'key',
      'abcd',
      'a non-empty string of at most 3 characters',
    );
  });
});

describe('checkFunction and checkOptionsObject', () => {
  it('checkFunction accepts functions of every kind and rejects the rest', () => {
    for (const fn of [() => 1, async () => 1, function* () {}, class {}, Math.max])
      expect(() => checkFunction(fn, 'fn')).not.toThrow();
    for (const value of [undefined, null, 1, 'fn', {}, { call() {} }])
      expectInvalid(() => checkFunction(value, 'fn'), 'type', 'fn', value, 'a function');
  });
  it('checkOptionsObject accepts objects and undefined, and rejects null, arrays and primitives', () => {
    for (const value of [undefined, {}, Object.create(null), { timeout: 1 }])
      expect(() => checkOptionsObject(value, 'options')).not.toThrow();
    for (const value of [null, [], 'options', 1, true, Symbol('o')]) {
      expectInvalid(
        () => checkOptionsObject(value, 'options'),
        'type',
        'options',
        value,
        'an options object or undefined',
      );
    }
  });
});

describe('checkAcquireOptions', () => {
  it('accepts undefined, {} and every valid combination, any owner included', () => {
    const signal = new AbortController().signal;
    for (const options of [
      undefined,
      {},
      { signal, timeout: 10, priority: Priority.HIGH, owner: Symbol('task') },
      { timeout: 0, priority: 0 },
      { timeout: Number.POSITIVE_INFINITY, priority: MAX_PRIORITY },
      { signal: undefined, timeout: undefined, priority: undefined, owner: undefined },
    ]) {
      expect(() => checkAcquireOptions(options)).not.toThrow();
    }
  });
  it('names the bad field, with the caller-given prefix', () => {
    expectInvalid(() => checkAcquireOptions(null), 'type', 'options', null, 'an options object or undefined');
    expectInvalid(
      () => checkAcquireOptions(5, 'acquireOptions'),
      'type',
      'acquireOptions',
      5,
      'an options object or undefined',
    );
    expectInvalid(
      () => checkAcquireOptions({ signal: {} }),
      'type',
      'options.signal',
      {},
      'an AbortSignal or undefined',
    );
    expectInvalid(
      () => checkAcquireOptions({ timeout: -1 }),
      'range',
      'options.timeout',
      -1,
      `a number of milliseconds from 0 to ${MAX_TIMEOUT}, or Infinity`,
    );
    expectInvalid(
      () => checkAcquireOptions({ timeout: '5' }, 'opts'),
      'type',
      'opts.timeout',
      '5',
      `a number of milliseconds from 0 to ${MAX_TIMEOUT}, or Infinity`,
    );
    const priorityAllowed = `an integer from 0 to ${MAX_PRIORITY}`;
    for (const value of [-1, 1.5, Number.NaN, MAX_PRIORITY + 1, Number.POSITIVE_INFINITY]) {
      expectInvalid(
        () => checkAcquireOptions({ priority: value }),
        'range',
        'options.priority',
        value,
        priorityAllowed,
      );
    }
    expectInvalid(() => checkAcquireOptions({ priority: 'high' }), 'type', 'options.priority', 'high', priorityAllowed);
  });
});
