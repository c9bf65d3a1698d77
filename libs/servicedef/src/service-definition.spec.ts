import { issuesThrownBy as issuesOf } from './testing/definition-issues';
import { InvalidServiceDefinitionError, ServiceSpec } from '@mcp/common';
import { parseServiceDefinition, serializeServiceDefinition, setActiveInDefinition, setNodeInDefinition } from './service-definition';

const EVERY_FIELD = `# notes: the team's notebook
name = "notes"
node = "rift"
active = false

[[components]]
name = "web"
image = "mcr.metacircular.net/notes:1.4.2"
network = "mcp"
user = "0:0"
restart = "unless-stopped"
ports = ["127.0.0.1:9090:9090/tcp", "5353:53/udp"]
volumes = ["/srv/notes:/data:rw,Z", "notes-cache:/cache"]
cmd = ["notes", "serve", "--quote=\\"x\\"", "tab\\there"]
env = ["LOG_LEVEL=debug", "GREETING=hello world"]

[[components.routes]]
name = "web"
port = 443
mode = "l7"
hostname = "notes.example.net"

[[components.routes]]
name = "grpc-api"
port = 8443
mode = "l4"

[[components]]
name = "worker"
image = "repo@sha256:${'0123456789abcdef'.repeat(4)}"

[[components.routes]]
port = 9443
`;

describe(parseServiceDefinition.name, () => {
  it('should parse a definition that uses every field', () => {
    const sut = parseServiceDefinition(EVERY_FIELD, 'notes.toml');

    expect(sut).toStrictEqual<ServiceSpec>({
      name: 'notes',
      node: 'rift',
      active: false,
      components: [
        {
          name: 'web',
          image: 'mcr.metacircular.net/notes:1.4.2',
          network: 'mcp',
          user: '0:0',
          restart: 'unless-stopped',
          ports: ['127.0.0.1:9090:9090/tcp', '5353:53/udp'],
          volumes: ['/srv/notes:/data:rw,Z', 'notes-cache:/cache'],
          cmd: ['notes', 'serve', '--quote="x"', 'tab\there'],
          env: ['LOG_LEVEL=debug', 'GREETING=hello world'],
          routes: [
            { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
            { name: 'grpc-api', port: 8443, mode: 'l4' },
          ],
        },
        {
          name: 'worker',
          image: `repo@sha256:${'0123456789abcdef'.repeat(4)}`,
          ports: [],
          volumes: [],
          cmd: [],
          env: [],
          routes: [{ port: 9443, mode: 'l4' }],
        },
      ],
    });
  });

  it('should report malformed TOML as one issue with line and column', () => {
    const issues = issuesOf(() => parseServiceDefinition('name = "notes"\nnode = \n', 'notes.toml'));

    expect(issues).toEqual([{ file: 'notes.toml', path: '', reason: 'invalid TOML at line 2, column 8: invalid value' }]);
  });

  it('should report a TOML datetime where a string belongs as a type error', () => {
    const text = 'name = "notes"\nnode = 1979-05-27\n[[components]]\nname = "web"\nimage = "a:1"\n';

    expect(issuesOf(() => parseServiceDefinition(text, 'notes.toml'))).toEqual([
      { file: 'notes.toml', path: 'node', reason: 'must be a string' },
    ]);
  });

  it('should report several problems in one file at once, with the file name', () => {
    const text = [
      'name = "notes"',
      'node = "rift"',
      'owner = "me"',
      '[[components]]',
      'name = "web"',
      'image = "localhost/notes"',
      '[[components]]',
      'name = "api"',
      'image = "localhost/api:1"',
      'env = ["NOPE"]',
      '[[components.routes]]',
      'port = 70000',
      '',
    ].join('\n');

    let caught: unknown;
    try {
      parseServiceDefinition(text, 'notes.toml');
    } catch (error: unknown) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(InvalidServiceDefinitionError);
    expect((caught as Error).message.split('\n').sort()).toEqual([
      'notes.toml: components[0].image: must have an explicit tag or digest (untagged references mean :latest)',
      'notes.toml: components[1].env[0]: must be KEY=VALUE',
      'notes.toml: components[1].routes[0].port: must be 1-65535',
      'notes.toml: owner: unknown key',
    ]);
  });
});

describe(serializeServiceDefinition.name, () => {
  it('should round-trip a definition that uses every field', () => {
    const loaded = parseServiceDefinition(EVERY_FIELD, 'notes.toml');

    const sut = serializeServiceDefinition(loaded);

    expect(parseServiceDefinition(sut, 'notes.toml')).toStrictEqual(loaded);
  });

  it('should leave out absent optionals and empty lists but keep active and mode explicit', () => {
    const spec: ServiceSpec = {
      name: 'tiny',
      node: 'rift',
      active: true,
      components: [{ name: 'tiny', image: 'a:1', ports: [], volumes: [], cmd: [], env: [], routes: [{ port: 443, mode: 'l4' }] }],
    };

    const sut = serializeServiceDefinition(spec);

    expect(sut).toBe(
      [
        'name = "tiny"',
        'node = "rift"',
        'active = true',
        '',
        '[[components]]',
        'name = "tiny"',
        'image = "a:1"',
        '',
        '[[components.routes]]',
        'port = 443',
        'mode = "l4"',
        '',
      ].join('\n'),
    );
  });

  it('should escape strings so that odd values survive the round trip', () => {
    const spec: ServiceSpec = {
      name: 'odd',
      node: 'node "1" \\ back',
      active: false,
      components: [
        {
          name: 'odd',
          image: 'a:1',
          ports: [],
          volumes: [],
          cmd: ['sh', '-c', 'echo "$A"\n\tdone \u007f # not a comment', 'ünïcode ✓'],
          env: ["QUOTE='single'", 'NL=a\r\nb'],
          routes: [],
        },
      ],
    };

    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'odd.toml')).toStrictEqual(spec);
  });
});

describe(setActiveInDefinition.name, () => {
  const withComments = [
    '# The notebook. active below is managed by `mcp stop`/`mcp start`.',
    'name = "notes"   # service name',
    'node = "rift"',
    'active = true    # keep this comment',
    '',
    '[[components]]',
    'name = "web"',
    'image = "localhost/notes:1.0"',
    'active = "not the service key"',
    '',
  ].join('\n');

  it('should rewrite only the value of the service-level active line', () => {
    const sut = setActiveInDefinition(withComments, false);

    expect(sut).toBe(withComments.replace('active = true    # keep this comment', 'active = false    # keep this comment'));
  });

  it('should return the text unchanged when active already has the value', () => {
    expect(setActiveInDefinition(withComments, true)).toBe(withComments);
  });

  it('should insert active after the node line when it is absent', () => {
    const text = '# header\nname = "notes"\nnode = "rift" # where\n\n[[components]]\nname = "web"\nimage = "a:1"\n';

    const sut = setActiveInDefinition(text, false);

    expect(sut).toBe('# header\nname = "notes"\nnode = "rift" # where\nactive = false\n\n[[components]]\nname = "web"\nimage = "a:1"\n');
  });

  it('should insert after the name line when it comes after node', () => {
    const text = 'node = "rift"\nname = "notes"\n[[components]]\nname = "web"\nimage = "a:1"\n';

    expect(setActiveInDefinition(text, true)).toBe('node = "rift"\nname = "notes"\nactive = true\n[[components]]\nname = "web"\nimage = "a:1"\n');
  });

  it('should keep CRLF line endings and a missing final newline', () => {
    const text = 'name = "notes"\r\nnode = "rift"';

    expect(setActiveInDefinition(text, false)).toBe('name = "notes"\r\nnode = "rift"\r\nactive = false\r\n');
    expect(setActiveInDefinition('name = "notes"\r\nactive = true\r\nnode = "rift"', false)).toBe(
      'name = "notes"\r\nactive = false\r\nnode = "rift"',
    );
  });

  it('should not mistake lines inside a multi-line string for keys or headers', () => {
    const text = [
      'name = "notes"',
      'node = """',
      'active = true',
      '[[components]]',
      '"""',
      '[[components]]',
      'name = "web"',
      'image = "a:1"',
      '',
    ].join('\n');

    const sut = setActiveInDefinition(text, false);

    expect(sut).toBe(text.replace('"""\n[[components]]\nname', '"""\nactive = false\n[[components]]\nname'));
  });

  it('should refuse malformed TOML instead of guessing', () => {
    expect(issuesOf(() => setActiveInDefinition('name = "notes"\nnode =\n', false))).toEqual([
      { path: '', reason: 'invalid TOML at line 2, column 7: invalid value' },
    ]);
  });
});

describe('parseServiceDefinition with keys from Object.prototype', () => {
  it('should report them as unknown keys at every level', () => {
    const text = 'name = "a"\nnode = "n"\nconstructor = 1\n[[components]]\nname = "a"\nimage = "a:1"\ntoString = "x"\n';

    expect(issuesOf(() => parseServiceDefinition(text, 'a.toml'))).toEqual([
      { file: 'a.toml', path: 'constructor', reason: 'unknown key' },
      { file: 'a.toml', path: 'components[0].toString', reason: 'unknown key' },
    ]);
  });
});

describe(setNodeInDefinition.name, () => {
  const text = `# shop: the web shop
name = "shop"
node = 'node1'  # moved here in May

[[components]]
name = "web"
node = "not-this-one"
image = "localhost/shop:1"
`;

  it('should rewrite only the top-level node, keeping its comment, the quoting and everything else', () => {
    expect(setNodeInDefinition(text, 'node2')).toBe(text.replace(`node = 'node1'  # moved here in May`, `node = "node2"  # moved here in May`));
  });

  it('should add node after name when there is none', () => {
    expect(setNodeInDefinition('name = "shop" # the shop\n\n[[components]]\nname = "web"\nimage = "x"\n', 'b')).toBe('name = "shop" # the shop\nnode = "b"\n\n[[components]]\nname = "web"\nimage = "x"\n');
  });
});
