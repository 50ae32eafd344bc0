/**
 * Typed views of the `@std/assert` functions the tests use. The npm build of
 * the std packages ships JavaScript without types, so the signatures are
 * declared here once.
 *
 * @module
 */
import * as std from "@std/assert";

type ErrorClass = new (...args: never[]) => Error;

/** Asserts deep equality. */
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void = std.assertEquals;
/** Asserts deep inequality. */
export const assertNotEquals: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertNotEquals;
/** Asserts strict (===) equality. */
export const assertStrictEquals: <T>(actual: unknown, expected: T, msg?: string) => void =
  std.assertStrictEquals;
/** Asserts a truthy value. */
export const assert: (expr: unknown, msg?: string) => asserts expr = std.assert;
/** Asserts a value is not null or undefined. */
export const assertExists: <T>(actual: T, msg?: string) => asserts actual is NonNullable<T> =
  std.assertExists;
/** Asserts a string matches a regular expression. */
export const assertMatch: (actual: string, expected: RegExp, msg?: string) => void =
  std.assertMatch;
/** Asserts a string includes another. */
export const assertStringIncludes: (actual: string, expected: string, msg?: string) => void =
  std.assertStringIncludes;
/** Asserts a value is an instance of a class. */
export const assertInstanceOf: <T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
) => asserts actual is InstanceType<T> = std.assertInstanceOf;
/** Asserts a >= b. */
export const assertGreaterOrEqual: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertGreaterOrEqual;
/** Asserts a <= b. */
export const assertLessOrEqual: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertLessOrEqual;
/** Asserts a function throws, optionally an error of a class whose message includes text. */
export const assertThrows: <E extends Error = Error>(
  fn: () => unknown,
  errorClass?: new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
) => E = std.assertThrows;
/** Asserts a promise rejects, optionally with an error of a class whose message includes text. */
export const assertRejects: <E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass?: new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
) => Promise<E> = std.assertRejects;
/** Fails the test. */
export const fail: (msg?: string) => never = std.fail;
/** Asserts an object matches a subset. */
export const assertObjectMatch: (
  actual: Record<PropertyKey, unknown>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
) => void = std.assertObjectMatch;

export type { ErrorClass };
/** Asserts a falsy value. */
export const assertFalse: (expr: unknown, msg?: string) => void = std.assertFalse;
/** Asserts `actual < expected`. */
export const assertLess: <T>(actual: T, expected: T, msg?: string) => void = std.assertLess;
