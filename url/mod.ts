/**
 * inetkit's url part.
 *
 * @module
 */
export {};
