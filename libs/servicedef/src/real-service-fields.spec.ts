import { issuesThrownBy as issuesOf } from './testing/definition-issues';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { MCP_PROTO_FILE, mcpv1, PROTO_LOADER_OPTIONS, PROTO_ROOT } from '@mcp/proto';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';
import { componentSpecHash } from './component-hash';

/** SPEC §9 component fields: memory, cpus, secrets, env_secrets, depends_on. */
const REAL_SERVICE = `name = "shop"
node = "rift"

[[components]]
name = "db"
image = "localhost/postgres:16.1"
memory = "1g"
cpus = 2
secrets = ["db-password"]
env_secrets = { POSTGRES_PASSWORD = "db-password" }

[[components]]
name = "cache"
image = "localhost/redis:7.2"
memory = "256m"
cpus = 0.25

[[components]]
name = "web"
image = "localhost/shop:1.0"
memory = "512m"
cpus = 1.5
secrets = ["db-password", "api_key"]
env_secrets = { DB_PASSWORD = "db-password", API_KEY = "api_key" }
depends_on = ["db", "cache"]
`;

function component(fields: string, name = 'web'): string {
  return `name = "shop"\nnode = "rift"\n\n[[components]]\nname = "${name}"\nimage = "localhost/shop:1.0"\n${fields}\n`;
}

describe('SPEC §9 component fields', () => {
  describe(parseServiceDefinition.name, () => {
    it('should read memory, cpus, secrets, env_secrets and depends_on', () => {
      const sut = parseServiceDefinition(REAL_SERVICE, 'shop.toml');

      expect(sut.components[0]).toMatchObject({ memory: '1g', cpus: 2, secrets: ['db-password'], env_secrets: { POSTGRES_PASSWORD: 'db-password' } });
      expect(sut.components[1]).toMatchObject({ memory: '256m', cpus: 0.25 });
      expect(sut.components[2]).toMatchObject({ depends_on: ['db', 'cache'], env_secrets: { DB_PASSWORD: 'db-password', API_KEY: 'api_key' } });
    });

    it('should leave the fields absent when not set, so older specs hash as before', () => {
      const sut = parseServiceDefinition(component(''), 'shop.toml').components[0];

      expect(Object.keys(sut).sort()).toEqual(['cmd', 'env', 'image', 'name', 'ports', 'routes', 'volumes']);
      expect(componentSpecHash(sut)).toBe(componentSpecHash({ name: 'web', image: 'localhost/shop:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [] }));
    });

    it.each([
      ['memory = "lots"', 'components[0].memory', 'must be a number with an optional unit b, k, m or g, e.g. 512m or 2g'],
      ['memory = "1m"', 'components[0].memory', "must be at least 6m (podman's minimum)"],
      ['memory = 512', 'components[0].memory', 'must be a string'],
      ['cpus = 0', 'components[0].cpus', 'must be greater than 0'],
      ['cpus = -1.5', 'components[0].cpus', 'must be greater than 0'],
      ['cpus = "2"', 'components[0].cpus', 'must be a number, e.g. 0.5 or 2'],
      ['secrets = "db"', 'components[0].secrets', 'must be an array of strings'],
      ['secrets = ["db/password"]', 'components[0].secrets[0]', 'must be 1-63 characters of letters, digits, "_" and "-", starting with a letter'],
      ['env_secrets = ["A"]', 'components[0].env_secrets', 'must be a table of VARIABLE = "secret-name"'],
      ['env_secrets = { 1A = "db" }', 'components[0].env_secrets.1A', '"1A" is not a valid variable name (letters, digits, "_"; not starting with a digit)'],
      ['env_secrets = { A = 1 }', 'components[0].env_secrets.A', 'must be a secret name (a string)'],
      ['env_secrets = { A = "../x" }', 'components[0].env_secrets.A', 'must be 1-63 characters of letters, digits, "_" and "-", starting with a letter'],
      ['depends_on = "db"', 'components[0].depends_on', 'must be an array of strings'],
      ['depends_on = ["Db"]', 'components[0].depends_on[0]', 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter'],
      ['depends_on = ["db"]', 'components[0].depends_on[0]', 'no component "db" in this service'],
      ['depends_on = ["web"]', 'components[0].depends_on[0]', 'a component cannot depend on itself'],
    ])('should report %s with file and path', (fields, path, reason) => {
      expect(issuesOf(() => parseServiceDefinition(component(fields), 'shop.toml'))).toEqual([{ file: 'shop.toml', path, reason }]);
    });

    it('should report a dependency cycle once, naming the loop', () => {
      const text = `name = "shop"\nnode = "rift"\n${['a:c', 'b:a', 'c:b', 'd:a']
        .map((pair) => {
          const [name, dependency] = pair.split(':');
          return `\n[[components]]\nname = "${name}"\nimage = "localhost/x:1.0"\ndepends_on = ["${dependency}"]\n`;
        })
        .join('')}`;

      expect(issuesOf(() => parseServiceDefinition(text, 'shop.toml'))).toEqual([
        { file: 'shop.toml', path: 'components[0].depends_on', reason: 'dependency cycle: a → c → b → a' },
      ]);
    });
  });

  describe(serializeServiceDefinition.name, () => {
    it('should round-trip every field: load → export → load', () => {
      const loaded = parseServiceDefinition(REAL_SERVICE, 'shop.toml');

      const sut = serializeServiceDefinition(loaded);

      expect(sut).toContain('env_secrets = { DB_PASSWORD = "db-password", API_KEY = "api_key" }');
      expect(sut).toContain('cpus = 2.0');
      expect(parseServiceDefinition(sut, 'shop.toml')).toStrictEqual(loaded);
    });
  });

  describe('proto', () => {
    it('should carry every field over the wire (numbers 14-18) and back', () => {
      const loaded = parseServiceDefinition(REAL_SERVICE, 'shop.toml');
      const type = protobuf.loadSync(path.join(PROTO_ROOT, MCP_PROTO_FILE)).lookupType('mcp.v1.ServiceSpec');
      const bytes = type.encode(type.fromObject(toProtoServiceSpec(loaded))).finish();
      const wire = type.toObject(type.decode(bytes), { ...PROTO_LOADER_OPTIONS }) as mcpv1.ServiceSpec;

      expect(fromProtoServiceSpec(wire, 'rift')).toStrictEqual(loaded);
    });
  });
});
