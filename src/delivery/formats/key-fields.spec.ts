import { MAX_KEY_FIELDS, keyFields } from './key-fields';

const names = (data: Record<string, unknown>) => keyFields(data).map((field) => field.name);

describe('keyFields', () => {
  it('shows strings, numbers and booleans as text', () => {
    expect(keyFields({ note: 'hi', count: 3, ratio: 0.5, paid: false })).toEqual([
      { name: 'note', value: 'hi' },
      { name: 'count', value: '3' },
      { name: 'ratio', value: '0.5' },
      { name: 'paid', value: 'false' },
    ]);
  });

  it('puts well-known keys first, then the rest in the publisher order', () => {
    expect(
      names({ zeta: 1, url: 'u', alpha: 2, amount: 3, currency: 'EUR', id: 'x', name: 'n' }),
    ).toEqual(['id', 'name', 'amount', 'currency', 'url', 'zeta', 'alpha']);
  });

  it('shows top-level scalars before nested ones, flattened one level as parent.child', () => {
    expect(
      keyFields({ customer: { note: 'vip', email: 'a@b.c' }, id: 'pay_1', session: { id: 's' } }),
    ).toEqual([
      { name: 'id', value: 'pay_1' },
      { name: 'customer.email', value: 'a@b.c' },
      { name: 'customer.note', value: 'vip' },
      { name: 'session.id', value: 's' },
    ]);
  });

  it('leaves out nulls, arrays and anything deeper than one level', () => {
    expect(
      names({
        gone: null,
        tags: ['a', 'b'],
        parent: { child: 'kept', missing: null, list: [1], deeper: { grandchild: 'x' } },
        items: [{ id: 'inside an array' }],
      }),
    ).toEqual(['parent.child']);
  });

  it('shows nothing for empty or scalar-free data', () => {
    expect(keyFields({})).toEqual([]);
    expect(keyFields({ a: { b: { c: 'too deep' } } })).toEqual([]);
  });

  it(`keeps at most ${MAX_KEY_FIELDS} fields, the most relevant ones`, () => {
    const data: Record<string, unknown> = { nested: { id: 'n' } };
    for (let i = 0; i < 1000; i++) data[`key${i}`] = i;
    data.email = 'last@key.example';
    const fields = names(data);
    expect(fields).toHaveLength(MAX_KEY_FIELDS);
    expect(fields[0]).toBe('email');
    expect(fields.slice(1)).toEqual(Array.from({ length: 9 }, (_, i) => `key${i}`));
  });

  it('replaces blank names and values, which platforms reject', () => {
    expect(keyFields({ '': 'no name', blank: '  ' })).toEqual([
      { name: '(empty)', value: 'no name' },
      { name: 'blank', value: '(empty)' },
    ]);
  });
});
