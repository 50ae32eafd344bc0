/**
 * inetkit's mail part.
 *
 * @module
 */
export {};
