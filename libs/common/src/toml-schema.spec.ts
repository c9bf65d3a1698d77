import { checkTable, problem, tableList, type TableSchema } from './toml-schema';

const required = (value: unknown) => (value === undefined ? problem('is required') : typeof value === 'string' ? [] : problem('must be a string'));

const SCHEMA: TableSchema = {
  fields: {
    name: { rule: required },
    section: { keys: { fields: { dir: { rule: required } } } },
    items: { rule: tableList({ notArray: 'must be an array of tables ([[items]])' }), each: { fields: { id: { rule: required } } } },
  },
};

describe(checkTable.name, () => {
  it('should accept a valid document', () => {
    expect(checkTable({ name: 'a', section: { dir: 'x' }, items: [{ id: '1' }] }, SCHEMA)).toEqual([]);
  });

  it('should report every problem at once, present keys in document order, then missing ones', () => {
    const sut = checkTable({ extra: 1, section: { dir: 3, other: true }, items: [{ id: 2 }, 'x', { nope: 1 }] }, SCHEMA);

    expect(sut).toEqual([
      { path: 'extra', reason: 'unknown key' },
      { path: 'section.dir', reason: 'must be a string' },
      { path: 'section.other', reason: 'unknown key' },
      { path: 'items[1]', reason: 'must be a table' },
      { path: 'items[0].id', reason: 'must be a string' },
      { path: 'items[2].nope', reason: 'unknown key' },
      { path: 'items[2].id', reason: 'is required' },
      { path: 'name', reason: 'is required' },
    ]);
  });

  it('should not walk into a value its own rule refused', () => {
    expect(checkTable({ name: 'a', items: { id: 1 } }, SCHEMA)).toEqual([{ path: 'items', reason: 'must be an array of tables ([[items]])' }]);
  });

  it('should refuse a non-table where a table belongs, and keys inherited from Object.prototype', () => {
    expect(checkTable({ name: 'a', section: [1], constructor: 'x' }, SCHEMA)).toEqual([
      { path: 'section', reason: 'must be a table' },
      { path: 'constructor', reason: 'unknown key' },
    ]);
    expect(checkTable('text', SCHEMA, 'doc')).toEqual([{ path: 'doc', reason: 'must be a table' }]);
  });

  it('should name unknown keys with the schema reason', () => {
    expect(checkTable({ name: 'a', bogus: {} }, { ...SCHEMA, unknownKey: 'unknown section' })).toEqual([{ path: 'bogus', reason: 'unknown section' }]);
  });
});
