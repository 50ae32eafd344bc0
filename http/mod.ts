/**
 * inetkit's http part.
 *
 * @module
 */
export {};
