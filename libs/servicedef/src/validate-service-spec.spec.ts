import { issuesThrownBy } from './testing/definition-issues';
import { InvalidServiceDefinitionError, ValidationIssue } from '@mcp/common';
import { resolveVolume } from './field-rules';
import { validateServiceSpec } from './validate-service-spec';

type Table = Record<string, unknown>;

function minimal(component: Table = {}, service: Table = {}): Table {
  return { name: 'notes', node: 'rift', components: [{ name: 'web', image: 'localhost/notes:1.0', ...component }], ...service };
}

function issuesOf(input: unknown, file?: string): ValidationIssue[] {
  return issuesThrownBy(() => validateServiceSpec(input, file));
}

describe(validateServiceSpec.name, () => {
  describe('valid input', () => {
    it('should normalise defaults: active true, mode l4, empty lists, no absent optionals', () => {
      const sut = validateServiceSpec(minimal({ routes: [{ port: 443 }] }));

      expect(sut).toStrictEqual({
        name: 'notes',
        node: 'rift',
        active: true,
        components: [
          { name: 'web', image: 'localhost/notes:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [{ port: 443, mode: 'l4' }] },
        ],
      });
    });

    it('should keep active false and every optional field', () => {
      const component = {
        name: 'web',
        image: 'mcr.example.net/notes@sha256:' + 'a'.repeat(64),
        network: 'mcp',
        user: '0:0',
        restart: 'on-failure:5',
        ports: ['127.0.0.1:8080:80/tcp', '9000:9000', '[::1]:53:53/udp'],
        volumes: ['/srv/notes:/data:rw,Z', 'notes-cache:/cache'],
        cmd: ['serve', '--port', '$PORT'],
        env: ['A=1', 'EMPTY=', 'WITH_EQ=a=b'],
        routes: [
          { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
          { port: 8443, mode: 'l4' },
        ],
      };

      const sut = validateServiceSpec({ name: 'notes', node: 'rift', active: false, components: [component] });

      expect(sut).toStrictEqual({ name: 'notes', node: 'rift', active: false, components: [component] });
    });

    it.each([
      'localhost/x:1.0',
      'localhost/mcp-test/busybox:1.0',
      '127.0.0.1:5000/app:2',
      'repo@sha256:' + 'b'.repeat(64),
      'registry.example.com:5000/team/app:v1.2.3-rc.1',
      'app:1.0@sha256:' + 'c'.repeat(64),
    ])('should accept the image reference %s', (image) => {
      expect(validateServiceSpec(minimal({ image })).components[0].image).toBe(image);
    });

    it.each(['./:/data', './data:/data:ro', './a/./b:/b', './a/../b:/b'])('should accept the service-relative volume %s (SPEC §15)', (volume) => {
      expect(validateServiceSpec(minimal({ volumes: [volume] })).components[0].volumes).toEqual([volume]);
    });

    it('should resolve ./ sources under the service directory, and leave others alone', () => {
      expect(resolveVolume('./:/data', '/srv/notes')).toBe('/srv/notes:/data');
      expect(resolveVolume('./data:/data:ro', '/srv/notes')).toBe('/srv/notes/data:/data:ro');
      expect(resolveVolume('./a/../b:/b', '/srv/notes')).toBe('/srv/notes/b:/b');
      expect(resolveVolume('/abs:/data', '/srv/notes')).toBe('/abs:/data');
      expect(resolveVolume('named:/data', '/srv/notes')).toBe('named:/data');
    });

    it.each(['no', 'always', 'on-failure', 'on-failure:3', 'unless-stopped'])('should accept restart %s', (restart) => {
      expect(validateServiceSpec(minimal({ restart })).components[0].restart).toBe(restart);
    });
  });

  describe('rejections', () => {
    it.each<[string, unknown, ValidationIssue]>([
      ['a non-table document', 'text', { path: '', reason: 'must be a table' }],
      ['a missing name', { node: 'rift', components: [{ name: 'web', image: 'a:1' }] }, { path: 'name', reason: 'is required' }],
      ['a non-string name', minimal({}, { name: 5 }), { path: 'name', reason: 'must be a string' }],
      [
        'a bad service name',
        minimal({}, { name: 'Notes' }),
        { path: 'name', reason: 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter' },
      ],
      [
        'a service name longer than 63',
        minimal({}, { name: 'a'.repeat(64) }),
        { path: 'name', reason: 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter' },
      ],
      ['a missing node', { name: 'notes', components: [{ name: 'web', image: 'a:1' }] }, { path: 'node', reason: 'is required' }],
      ['an empty node', minimal({}, { node: '' }), { path: 'node', reason: 'must not be empty' }],
      ['a non-string node', minimal({}, { node: ['a'] }), { path: 'node', reason: 'must be a string' }],
      ['a non-boolean active', minimal({}, { active: 'yes' }), { path: 'active', reason: 'must be true or false' }],
      [
        'missing components',
        { name: 'notes', node: 'rift' },
        { path: 'components', reason: 'is required: define at least one [[components]] table' },
      ],
      ['no components', minimal({}, { components: [] }), { path: 'components', reason: 'must have at least one component' }],
      ['components as one table', minimal({}, { components: { name: 'web' } }), { path: 'components', reason: 'must be an array of tables' }],
      ['a component that is not a table', minimal({}, { components: ['web'] }), { path: 'components[0]', reason: 'must be a table' }],
      ['an unknown service key', minimal({}, { nodes: 'x' }), { path: 'nodes', reason: 'unknown key' }],
      ['an unknown component key', minimal({ volume: ['/a:/b'] }), { path: 'components[0].volume', reason: 'unknown key' }],
      ['a missing component name', minimal({ name: undefined }), { path: 'components[0].name', reason: 'is required' }],
      [
        'a bad component name',
        minimal({ name: 'web_1' }),
        { path: 'components[0].name', reason: 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter' },
      ],
      ['a missing image', minimal({ image: undefined }), { path: 'components[0].image', reason: 'is required' }],
      ['a non-string image', minimal({ image: 1 }), { path: 'components[0].image', reason: 'must be a string' }],
      [
        'an untagged image',
        minimal({ image: 'localhost/notes' }),
        { path: 'components[0].image', reason: 'must have an explicit tag or digest (untagged references mean :latest)' },
      ],
      [
        'an untagged image whose registry has a port',
        minimal({ image: '127.0.0.1:5000/app' }),
        { path: 'components[0].image', reason: 'must have an explicit tag or digest (untagged references mean :latest)' },
      ],
      [
        'the latest tag',
        minimal({ image: 'localhost/notes:latest' }),
        { path: 'components[0].image', reason: 'must not use the :latest tag; pin a version' },
      ],
      [
        'a short digest',
        minimal({ image: 'repo@sha256:abc' }),
        { path: 'components[0].image', reason: 'has an invalid digest (expected sha256:<64 hex> or sha512:<128 hex>)' },
      ],
      [
        'an upper-case repository',
        minimal({ image: 'localhost/Notes:1.0' }),
        { path: 'components[0].image', reason: 'must be a valid image reference like registry.example/app:1.2.3' },
      ],
      ['a non-string network', minimal({ network: 1 }), { path: 'components[0].network', reason: 'must be a string' }],
      ['an empty network', minimal({ network: '' }), { path: 'components[0].network', reason: 'must not be empty' }],
      ['a flag-like network', minimal({ network: '--privileged' }), { path: 'components[0].network', reason: 'must be a podman network name' }],
      ['a non-string user', minimal({ user: 0 }), { path: 'components[0].user', reason: 'must be a string' }],
      ['a bad user', minimal({ user: '0:0:0' }), { path: 'components[0].user', reason: 'must be user[:group], e.g. 0:0' }],
      ['a non-string restart', minimal({ restart: true }), { path: 'components[0].restart', reason: 'must be a string' }],
      [
        'an unknown restart policy',
        minimal({ restart: 'sometimes' }),
        { path: 'components[0].restart', reason: 'must be one of no, always, on-failure, on-failure:N, unless-stopped' },
      ],
      ['ports that are not a list', minimal({ ports: '80:80' }), { path: 'components[0].ports', reason: 'must be an array of strings' }],
      ['a non-string port mapping', minimal({ ports: [8080] }), { path: 'components[0].ports[0]', reason: 'must be a string' }],
      [
        'a port mapping without host port',
        minimal({ ports: ['80'] }),
        { path: 'components[0].ports[0]', reason: 'must be [hostIP:]hostPort:containerPort[/tcp|udp]' },
      ],
      [
        'a port mapping with an unknown protocol',
        minimal({ ports: ['80:80/icmp'] }),
        { path: 'components[0].ports[0]', reason: 'must be [hostIP:]hostPort:containerPort[/tcp|udp]' },
      ],
      ['a port out of range', minimal({ ports: ['70000:80'] }), { path: 'components[0].ports[0]', reason: 'ports must be 1-65535' }],
      ['port zero', minimal({ ports: ['8080:0'] }), { path: 'components[0].ports[0]', reason: 'ports must be 1-65535' }],
      [
        'a bad host IP',
        minimal({ ports: ['300.1.1.1:80:80'] }),
        { path: 'components[0].ports[0]', reason: 'host IP "300.1.1.1" is not a valid IP address' },
      ],
      ['volumes that are not a list', minimal({ volumes: '/a:/b' }), { path: 'components[0].volumes', reason: 'must be an array of strings' }],
      ['a volume without container path', minimal({ volumes: ['/a'] }), { path: 'components[0].volumes[0]', reason: 'must be host:container[:opts]' }],
      [
        'a relative container path',
        minimal({ volumes: ['/a:data'] }),
        { path: 'components[0].volumes[0]', reason: 'container path must be absolute' },
      ],
      [
        'a relative host path not starting with ./',
        minimal({ volumes: ['../a:/data'] }),
        { path: 'components[0].volumes[0]', reason: "host side must be an absolute path, a path starting with ./ (inside the service's directory) or a volume name" },
      ],
      [
        'a ./ host path that climbs out of the service directory',
        minimal({ volumes: ['./../other:/data'] }),
        { path: 'components[0].volumes[0]', reason: 'host side "./../other" must stay inside the service\'s directory (<srv_root>/<service>/)' },
      ],
      [
        'a ./ host path that climbs out through a subdirectory',
        minimal({ volumes: ['/a:/a', './data/../../x:/x:ro'] }),
        { path: 'components[0].volumes[1]', reason: 'host side "./data/../../x" must stay inside the service\'s directory (<srv_root>/<service>/)' },
      ],
      [
        'bad volume options',
        minimal({ volumes: ['/a:/data:ro Z'] }),
        { path: 'components[0].volumes[0]', reason: 'options must be a comma-separated list like ro,Z' },
      ],
      ['cmd as a string', minimal({ cmd: 'serve --port 80' }), { path: 'components[0].cmd', reason: 'must be an array of strings' }],
      ['a non-string cmd element', minimal({ cmd: ['serve', 80] }), { path: 'components[0].cmd[1]', reason: 'must be a string' }],
      ['env as a table', minimal({ env: { A: '1' } }), { path: 'components[0].env', reason: 'must be an array of strings' }],
      ['env without =', minimal({ env: ['A'] }), { path: 'components[0].env[0]', reason: 'must be KEY=VALUE' }],
      [
        'env with a bad key',
        minimal({ env: ['1A=x'] }),
        { path: 'components[0].env[0]', reason: '"1A" is not a valid variable name (letters, digits, "_"; not starting with a digit)' },
      ],
      ['routes as one table', minimal({ routes: { port: 443 } }), { path: 'components[0].routes', reason: 'must be an array of tables' }],
      ['a route that is not a table', minimal({ routes: [443] }), { path: 'components[0].routes[0]', reason: 'must be a table' }],
      ['a route without port', minimal({ routes: [{ mode: 'l4' }] }), { path: 'components[0].routes[0].port', reason: 'is required' }],
      ['a string port', minimal({ routes: [{ port: '443' }] }), { path: 'components[0].routes[0].port', reason: 'must be an integer' }],
      ['a fractional port', minimal({ routes: [{ port: 443.5 }] }), { path: 'components[0].routes[0].port', reason: 'must be an integer' }],
      ['a route port of 0', minimal({ routes: [{ port: 0 }] }), { path: 'components[0].routes[0].port', reason: 'must be 1-65535' }],
      ['a route port of 65536', minimal({ routes: [{ port: 65536 }] }), { path: 'components[0].routes[0].port', reason: 'must be 1-65535' }],
      ['an unknown mode', minimal({ routes: [{ port: 443, mode: 'l3' }] }), { path: 'components[0].routes[0].mode', reason: 'must be "l4" or "l7"' }],
      [
        'a bad route name',
        minimal({ routes: [{ port: 443, name: 'Admin' }] }),
        { path: 'components[0].routes[0].name', reason: 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter' },
      ],
      [
        'a bad hostname',
        minimal({ routes: [{ port: 443, hostname: 'notes..example.net' }] }),
        { path: 'components[0].routes[0].hostname', reason: 'must be a valid DNS name' },
      ],
      [
        'a hostname with a label starting with -',
        minimal({ routes: [{ port: 443, hostname: '-notes.example.net' }] }),
        { path: 'components[0].routes[0].hostname', reason: 'must be a valid DNS name' },
      ],
      [
        'an unknown route key',
        minimal({ routes: [{ port: 443, backend: 'x' }] }),
        { path: 'components[0].routes[0].backend', reason: 'unknown key' },
      ],
      [
        'a __proto__ key',
        JSON.parse('{"name":"notes","node":"rift","components":[{"name":"web","image":"a:1","__proto__":{"x":1}}]}'),
        { path: 'components[0].__proto__', reason: 'unknown key' },
      ],
      ['a constructor key', minimal({}, { constructor: 1 }), { path: 'constructor', reason: 'unknown key' }],
      ['a toString key', minimal({ toString: 'x' }), { path: 'components[0].toString', reason: 'unknown key' }],
      [
        'a hasOwnProperty key in a route',
        minimal({ routes: [{ port: 443, hasOwnProperty: 1 }] }),
        { path: 'components[0].routes[0].hasOwnProperty', reason: 'unknown key' },
      ],
      [
        'duplicate component names',
        minimal({}, { components: [{ name: 'web', image: 'a:1' }, { name: 'web', image: 'b:1' }] }),
        { path: 'components[1].name', reason: 'duplicate component name "web" (also components[0])' },
      ],
      [
        'duplicate route names',
        minimal({ routes: [{ name: 'api', port: 443, hostname: 'a.example' }, { name: 'api', port: 8443 }] }),
        { path: 'components[0].routes[1].name', reason: 'duplicate route name "api" (also routes[0])' },
      ],
      [
        'two unnamed routes in one component',
        minimal({ routes: [{ port: 443 }, { port: 8443 }] }),
        { path: 'components[0].routes[1]', reason: 'only one route per component may be unnamed (routes[0] is too); name the others' },
      ],
      [
        'two routes on the same listener and hostname',
        minimal(
          {},
          {
            components: [
              { name: 'web', image: 'a:1', routes: [{ port: 443 }] },
              { name: 'api', image: 'b:1', routes: [{ port: 443 }] },
            ],
          },
        ),
        { path: 'components[1].routes[0]', reason: 'port 443 with hostname <default hostname> is already routed by components[0].routes[0]' },
      ],
    ])('should reject %s', (_case, input, expected) => {
      expect(issuesOf(input)).toEqual([expected]);
    });

    it('should report every problem at once, across levels', () => {
      const input = {
        name: 'Bad Name',
        node: 'rift',
        extra: 1,
        components: [
          { name: 'web', image: 'localhost/web:1' },
          {
            name: 'api',
            image: 'localhost/api:latest',
            ports: ['1:2', 'x'],
            routes: [{ port: 443 }, { name: 'b', port: 70000 }],
          },
        ],
      };

      const issues = issuesOf(input);

      expect(issues).toHaveLength(5);
      expect(issues).toEqual(
        expect.arrayContaining([
          { path: 'name', reason: 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter' },
          { path: 'extra', reason: 'unknown key' },
          { path: 'components[1].image', reason: 'must not use the :latest tag; pin a version' },
          { path: 'components[1].ports[1]', reason: 'must be [hostIP:]hostPort:containerPort[/tcp|udp]' },
          { path: 'components[1].routes[1].port', reason: 'must be 1-65535' },
        ]),
      );
    });

    it('should put the file in every issue and in the message', () => {
      let caught: unknown;
      try {
        validateServiceSpec(minimal({ routes: [{ port: 0 }] }, { name: 'Notes' }), 'notes.toml');
      } catch (error: unknown) {
        caught = error;
      }

      expect(caught).toBeInstanceOf(InvalidServiceDefinitionError);
      const error = caught as InvalidServiceDefinitionError;
      expect(error.issues.every((issue) => issue.file === 'notes.toml')).toBe(true);
      expect(error.message.split('\n')).toEqual([
        'notes.toml: name: must be 1-63 characters of a-z, 0-9 and "-", starting with a letter',
        'notes.toml: components[0].routes[0].port: must be 1-65535',
      ]);
    });
  });
});
