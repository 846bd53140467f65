import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { useLeanAsyncResourceBind } from './async-resource-bind';

describe('useLeanAsyncResourceBind', () => {
  beforeAll(() => useLeanAsyncResourceBind());

  it('binds without the deprecated accessor, once', () => {
    const bound = new AsyncResource('test').bind(() => 1);
    expect('asyncResource' in bound).toBe(false);
    // Already lean: a second call leaves it alone.
    expect(useLeanAsyncResourceBind()).toBe(false);
  });

  it("runs the function in the resource's async context, with the caller's this and arguments", () => {
    const storage = new AsyncLocalStorage<string>();
    const resource = storage.run('where it was bound', () => new AsyncResource('test'));
    const bound = resource.bind(function (this: unknown, a: number, b: number) {
      return { store: storage.getStore(), self: this, sum: a + b };
    });
    const receiver = { name: 'receiver' };
    const result = storage.run('where it is called', () => bound.call(receiver, 2, 3));
    expect(result).toEqual({ store: 'where it was bound', self: receiver, sum: 5 });
    expect(storage.run('after', () => storage.getStore())).toBe('after');
  });

  it('keeps an explicit this, the length, the return value and thrown errors', () => {
    const self = { name: 'fixed' };
    const resource = new AsyncResource('test');
    // Node takes a this as second argument; @types/node does not declare it.
    const bindWithThis = resource.bind as unknown as (
      fn: (...args: unknown[]) => unknown,
      thisArg: unknown,
    ) => (...args: unknown[]) => unknown;
    const bound = bindWithThis.call(
      resource,
      function (this: unknown, _a: unknown, _b: unknown) {
        return this;
      },
      self,
    );
    expect(bound.call({ other: true }, 1, 2)).toBe(self);
    expect(bound.length).toBe(2);
    const failing = resource.bind(() => {
      throw new Error('boom');
    });
    expect(() => failing()).toThrow('boom');
    expect(AsyncResource.bind((x: number) => x * 2)(21)).toBe(42);
  });

  it('refuses what is not a function as Node does', () => {
    const resource = new AsyncResource('test');
    expect(() => resource.bind('nope' as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }),
    );
  });
});
