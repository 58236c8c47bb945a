import { invalidArgument } from '@cf/core';

/** Checks a boolean argument. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument('type', name, value, 'a boolean');
  return value;
}
