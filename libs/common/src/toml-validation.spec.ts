import { Check, flattenValidationErrors, ok, problem, SubTable, TableList, tableList, UnknownKeys, validateTable, type FieldRule } from './toml-validation';

const port: FieldRule = (value) =>
  value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) ? ok : problem('must be 1-65535');
const required: FieldRule = (value) => (value === undefined ? problem('is required') : typeof value === 'string' ? ok : problem('must be a string'));
const tags: FieldRule = (value) => {
  if (value === undefined) return ok;
  if (!Array.isArray(value)) return problem('must be an array of strings');
  return value.flatMap((item: unknown, index) => (typeof item === 'string' ? [] : [{ suffix: `[${index}]`, reason: 'must be a string' }]));
};

// Three levels of tables: top → [[components]] → [[components.routes]] → [components.routes.tls].
class TlsTable {
  @Check('port', port) port?: number;
}

class RouteTable {
  @Check('name', required) name!: string;
  @Check('port', port) port?: number;
  @Check('tags', tags) tags?: string[];
  @SubTable(() => TlsTable) tls?: TlsTable;
}

class ComponentTable {
  @Check('name', required) name!: string;
  @TableList(() => RouteTable) routes?: RouteTable[];
}

@UnknownKeys('unknown section')
class TopTable {
  @Check('name', required) name!: string;
  @TableList(() => ComponentTable, tableList({ required: 'is required', empty: 'must have at least one component' })) components!: ComponentTable[];
}

const lines = (input: unknown) => validateTable(TopTable, input).map((issue) => `${issue.path}: ${issue.reason}`);

describe('validateTable / flattenValidationErrors', () => {
  it('should accept a valid document', () => {
    expect(lines({ name: 'svc', components: [{ name: 'web', routes: [{ name: 'r', port: 80, tags: ['a'], tls: { port: 443 } }] }] })).toEqual([]);
  });

  it('should name an element of an array of tables inside an array of tables', () => {
    expect(lines({ name: 'svc', components: [{ name: 'a' }, { name: 'b', routes: [{ name: 'ok', port: 1 }, { name: 'bad', port: 70000 }] }] })).toEqual([
      'components[1].routes[1].port: must be 1-65535',
    ]);
  });

  it('should give the path three tables deep, and a list element of a key at that depth', () => {
    expect(lines({ name: 'svc', components: [{ name: 'a', routes: [{ name: 'r', tags: ['x', 7], tls: { port: 0, extra: true } }] }] })).toEqual([
      'components[0].routes[0].tags[1]: must be a string',
      'components[0].routes[0].tls.port: must be 1-65535',
      'components[0].routes[0].tls.extra: unknown key',
    ]);
  });

  it('should report every problem at once, in the order the keys were written, then the absent required keys', () => {
    expect(lines({ components: [{ routes: [{ port: 'x' }] }, { name: 3 }], oops: 1 })).toEqual([
      'components[0].routes[0].port: must be 1-65535',
      'components[0].routes[0].name: is required',
      'components[0].name: is required',
      'components[1].name: must be a string',
      'oops: unknown section',
      'name: is required',
    ]);
  });

  it('should report a list element that is not a table once, and not look inside it', () => {
    expect(lines({ name: 'svc', components: [{ name: 'a', routes: ['nope', { name: 'r', port: -1 }] }] })).toEqual([
      'components[0].routes[0]: must be a table',
      'components[0].routes[1].port: must be 1-65535',
    ]);
  });

  it('should not look into a table its own rule refused', () => {
    expect(lines({ name: 'svc', components: [{ name: 'a', routes: [{ name: 'r', tls: 'yes' }] }] })).toEqual(['components[0].routes[0].tls: must be a table']);
    expect(lines({ name: 'svc', components: [] })).toEqual(['components: must have at least one component']);
    expect(lines({ name: 'svc' })).toEqual(['components: is required']);
  });

  it('should refuse keys named like Object.prototype members, as written', () => {
    const input = JSON.parse('{"name":"svc","components":[{"name":"a","__proto__":{"x":1},"constructor":2,"toString":3}]}') as unknown;
    expect(lines(input)).toEqual(['components[0].__proto__: unknown key', 'components[0].constructor: unknown key', 'components[0].toString: unknown key']);
  });

  it('should prefix paths with `at`, and refuse a document that is not a table', () => {
    expect(validateTable(TopTable, { name: 'svc', components: [{ name: 4 }] }, 'file')).toEqual([{ path: 'file.components[0].name', reason: 'must be a string' }]);
    expect(validateTable(TopTable, [1, 2])).toEqual([{ path: '', reason: 'must be a table' }]);
  });

  it('should return nothing for no errors', () => {
    expect(flattenValidationErrors([], {})).toEqual([]);
  });
});
