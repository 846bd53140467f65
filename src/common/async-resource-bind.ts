import { AsyncResource } from 'node:async_hooks';

/**
 * Gives `AsyncResource.prototype.bind` the definition it has since Node 25, on the Node versions
 * whose `bind` adds the deprecated `asyncResource` accessor (DEP0172) to every function it binds.
 *
 * Why: that accessor is made with `util.deprecate`, which calls `Object.setPrototypeOf` on a fresh
 * closure each time (nodejs/node#58218). V8 then makes new hidden classes, which live in the old
 * generation and point back at the bound function, its resource and whatever they close over.
 * Fastify binds one function per request with a body (its content-type parser), over the request
 * and the reply: each request's object graph was thereby kept alive through every young-generation
 * GC until the next full one. At 500 publishes/s that promoted about 4 MB/s, and the full GCs it
 * forced every few seconds marked the heap on every core for 50-100 ms, stalling publishes.
 *
 * Without the accessor, bound functions behave as before (same async context, `this`, arguments
 * and `length`); nothing in this service or its dependencies reads `asyncResource`, which Node
 * deprecated in version 20 and removed in 25. Returns whether it replaced `bind`.
 */
export function useLeanAsyncResourceBind(): boolean {
  const probe = new AsyncResource('rapidly-bind-probe').bind(() => undefined);
  if (!Object.prototype.hasOwnProperty.call(probe, 'asyncResource')) return false;
  AsyncResource.prototype.bind = leanBind as AsyncResource['bind'];
  return true;
}

/** Node 25's `AsyncResource.prototype.bind` (lib/async_hooks.js), in TypeScript. */
type Callback = (...args: unknown[]) => unknown;

function leanBind(this: AsyncResource, fn: Callback, thisArg?: unknown): Callback {
  if (typeof fn !== 'function') {
    throw Object.assign(
      new TypeError(`The "fn" argument must be of type function. Received ${typeof fn}`),
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  }
  let bound: Callback;
  if (thisArg === undefined) {
    const inScope = (receiver: unknown, args: unknown[]): unknown =>
      this.runInAsyncScope(fn, receiver, ...args);
    bound = function (this: unknown, ...args: unknown[]) {
      return inScope(this, args);
    };
  } else {
    bound = this.runInAsyncScope.bind(this, fn, thisArg) as Callback;
  }
  Object.defineProperty(bound, 'length', {
    configurable: true,
    enumerable: false,
    value: fn.length,
    writable: false,
  });
  return bound;
}
