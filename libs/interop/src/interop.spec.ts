import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { InvalidServiceDefinitionError, ValidationIssue } from '@mcp/common';
import { parseServiceDefinition, serializeServiceDefinition } from '@mcp/servicedef';
import { importCompose } from './compose-import';
import { exportCompose } from './compose-export';
import { exportKube, kubeMemory } from './kube-export';
import { interpolate, shellWords } from './interpolate';

/** Parsed YAML, walked by the test as the documents are shaped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'compose');

function readFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function importFixture(relative: string, extra: Record<string, string> = {}, text?: string) {
  const file = path.join(FIXTURES, relative);
  const env = Object.entries(extra).map(([key, value]) => `${key}=${value}`).join('\n');
  return importCompose({
    text: text ?? fs.readFileSync(file, 'utf8'),
    file,
    node: 'rift',
    name: 'shop',
    readFile: (f) => (f === path.join(path.dirname(file), '.env') ? env : readFile(f)),
  });
}

function issuesOf(action: () => unknown): ValidationIssue[] {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidServiceDefinitionError) return error.issues;
    throw error;
  }
  throw new Error('expected InvalidServiceDefinitionError');
}

describe(importCompose.name, () => {
  it('should import a web app with its database and cache: env, ports, named volume, limits, depends_on, secrets', () => {
    const { spec, notes } = importFixture('web-db-cache/docker-compose.yml', { WEB_PORT: '18080' });

    expect(spec.components.map((c) => c.name)).toEqual(['web', 'db', 'cache']);
    expect(spec.components[0]).toEqual({
      name: 'web',
      image: 'localhost/mcp-test/busybox:1.0',
      cmd: ['sh', '-c', 'mkdir -p /www && echo "web-up $GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www'],
      env: ['GREETING=hello from compose', 'DATABASE_URL=postgres://app@db:5432/app', 'REDIS_URL=redis://cache:6379'],
      ports: ['127.0.0.1:18080:8080'],
      volumes: [],
      routes: [],
      restart: 'unless-stopped',
      memory: '256m',
      cpus: 0.5,
      depends_on: ['db', 'cache'],
      secrets: ['db_password'],
    });
    expect(spec.components[1]).toMatchObject({ volumes: ['web-db-cache_dbdata:/var/lib/postgresql/data'], memory: '512m', cpus: 1, cmd: ['sleep', '3600'] });
    expect(notes.map((n) => n.path)).toEqual(
      expect.arrayContaining(['volumes.dbdata', 'secrets.db_password', 'services.db.deploy.resources.reservations', 'services.cache.expose']),
    );
    expect(notes.find((n) => n.path === 'secrets.db_password')?.message).toBe('store its value on the node: mcp secret set shop db_password < ./db_password.txt');
  });

  it('should import healthchecks and depends_on conditions, saying what happens to each', () => {
    const { spec, notes } = importFixture('healthchecks/compose.yaml');

    expect(spec.components.find((c) => c.name === 'api')).toMatchObject({ ports: ['127.0.0.1:8081:8081'], depends_on: ['broker'], restart: 'always' });
    expect(notes.find((n) => n.path === 'services.api.depends_on.init')?.message).toMatch(/^dropped: MCP has no one-off jobs/);
    expect(spec.components.find((c) => c.name === 'api')?.health).toEqual({
      cmd: ['/bin/sh', '-c', 'wget -q -O- http://127.0.0.1:8081/ || exit 1'],
      interval: '5000ms',
      timeout: '3000ms',
    });
    expect(spec.components.find((c) => c.name === 'broker')?.health).toEqual({ cmd: ['true'], interval: '10000ms' });
    expect(notes.find((n) => n.path === 'services.api.healthcheck')?.message).toMatch(/^carried as \[components.health\]/);
    const kube = exportKube({ spec });
    expect(kube).toContain('readinessProbe:');
    expect((parseYaml(exportCompose({ spec })) as Loose).services.broker.healthcheck).toEqual({ test: ['CMD', 'true'], interval: '10000ms' });
  });

  it('should resolve anchors, merge keys, env files, interpolation and $$, and list every unmappable key', () => {
    const { spec, notes } = importFixture('anchors-env/compose.yaml', { FRONT_PORT: '18082' });

    expect(spec.components.map((c) => c.name)).toEqual(['frontend', 'worker-1']);
    expect(spec.components[0]).toMatchObject({
      image: 'localhost/mcp-test/busybox:1.0',
      restart: 'on-failure:3',
      user: '0:0',
      network: 'anchors-env_backend',
      ports: ['127.0.0.1:18082:8082'],
      env: ['APP_NAME=shop', 'EXTRA=quoted value', 'LOG_LEVEL=debug', 'PRICE=$5'],
    });
    expect(spec.components[0].cmd[2]).toContain('echo "$APP_NAME $LOG_LEVEL $PRICE"');
    expect(spec.components[1].volumes).toEqual(['./data:/data:ro']);
    expect(notes.map((n) => n.path)).toEqual(
      expect.arrayContaining([
        'services.frontend.build',
        'services.frontend.container_name',
        'services.frontend.profiles',
        'services.frontend.ports[1]',
        'services.Worker_1',
        'services.Worker_1.volumes[0]',
        'services.Worker_1.volumes[1]',
        'networks.backend',
      ]),
    );
  });

  it('should survive its own round trip: the imported spec serialises and loads back unchanged', () => {
    const { spec } = importFixture('anchors-env/compose.yaml', { FRONT_PORT: '18082' });

    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'shop.toml')).toStrictEqual(spec);
  });

  it.each([
    ['services:\n  web:\n    image: [unclosed\n', '', /^invalid YAML at line \d+, column \d+/],
    ['services:\n  web:\n    build: .\n', 'services.web.image', /^is required: MCP runs images and does not build them/],
    ['services:\n  web:\n    image: nginx\n', 'services.web.image', /tag/],
    ['services:\n  web:\n    image: nginx:latest\n', 'services.web.image', /latest/],
    ['services:\n  web:\n    image: a:1\n    depends_on: [db]\n', 'services.web.depends_on[0]', /^no component "db" in this service$/],
    ['services:\n  web:\n    image: a:1\n    mem_limit: lots\n', 'services.web.mem_limit', /^must be a number/],
    ['services: {}\n', 'services', /^must define at least one service$/],
  ])('should report what to fix in the Compose file: %j', (text, where, reason) => {
    const issues = issuesOf(() => importFixture('web-db-cache/docker-compose.yml', {}, text));

    expect(issues).toEqual([{ file: path.join(FIXTURES, 'web-db-cache/docker-compose.yml'), path: where, reason: expect.stringMatching(reason) }]);
  });
});

describe(interpolate.name, () => {
  const context = (variables: Record<string, string>) => {
    const unset: string[] = [];
    return { unset, context: { variables: new Map(Object.entries(variables)), onUnset: (n: string) => unset.push(n), onRequired: () => undefined } };
  };

  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['$A-$B', { A: 'x', B: 'y' }, 'x-y'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['${A:+alt}', { A: 'x' }, 'alt'],
    ['${A:-${B:-deep}}', {}, 'deep'],
    ['$$HOME and $${A}', { A: 'x' }, '$HOME and ${A}'],
  ])('should expand %s', (text, variables, expected) => {
    expect(interpolate(text, context(variables).context)).toBe(expected);
  });

  it('should report unset variables', () => {
    const { unset, context: ctx } = context({});
    expect(interpolate('a${MISSING}b', ctx)).toBe('ab');
    expect(unset).toEqual(['MISSING']);
  });

  it('should split command strings as a shell would', () => {
    expect(shellWords(`sh -c 'echo "a b" && x' "q \\"z\\"" plain\\ space`)).toEqual(['sh', '-c', 'echo "a b" && x', 'q "z"', 'plain space']);
  });
});

describe('export of ./ volume sources (SPEC §15)', () => {
  const spec = parseServiceDefinition(`name = "shop"\nnode = "rift"\n\n[[components]]\nname = "web"\nimage = "localhost/web:1"\nvolumes = ["./:/app", "./conf:/etc/conf:ro"]\n`, 'shop.toml');

  it('should keep ./ in the MCP definition and make it absolute under srv_root in Compose and Kubernetes', () => {
    expect(serializeServiceDefinition(spec)).toContain('volumes = ["./:/app", "./conf:/etc/conf:ro"]');
    expect((parseYaml(exportCompose({ spec, srvRoot: '/data' })) as Loose).services.web.volumes).toEqual(['/data/shop:/app', '/data/shop/conf:/etc/conf:ro']);
    const kube = exportKube({ spec });
    expect(kube).toContain('path: /srv/shop/conf');
    expect(kube).not.toContain('./conf');
  });
});

describe('export', () => {
  const spec = parseServiceDefinition(
    `name = "shop"
node = "rift"

[[components]]
name = "db"
image = "localhost/postgres:16.1"
volumes = ["shop_dbdata:/var/lib/postgresql/data", "/srv/shop/conf:/etc/conf:ro"]
memory = "512m"
cpus = 1.5
user = "999:999"
secrets = ["db-password"]
env_secrets = { PGPASSWORD = "db-password" }

[[components]]
name = "web"
image = "localhost/shop:1.0"
ports = ["127.0.0.1:18080:8080"]
env = ["A=1"]
cmd = ["shop", "serve"]
network = "shopnet"
restart = "no"
depends_on = ["db"]

[[components.routes]]
port = 443
mode = "l7"
`,
    'shop.toml',
  );

  it('should write Kubernetes manifests with limits, volumes, secrets and what it cannot carry at the top', () => {
    const text = exportKube({ spec, routeHostPorts: { web: [23456] } });
    const documents = parseAllDocuments(text).map((document) => document.toJS() as Loose);

    expect(documents.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['PersistentVolumeClaim/shop-dbdata', 'Deployment/shop-db', 'Deployment/shop-web', 'Service/shop-web']);
    const db = documents[1].spec.template.spec;
    expect(db.containers[0].resources).toEqual({ limits: { memory: '512Mi', cpu: '1500m' } });
    expect(db.containers[0].securityContext).toEqual({ runAsUser: 999, runAsGroup: 999 });
    expect(db.containers[0].env).toEqual([{ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'shop-db-password', key: 'value' } } }]);
    expect(db.volumes).toEqual(expect.arrayContaining([{ name: 'host-1', hostPath: { path: '/srv/shop/conf' } }]));
    const web = documents[2].spec.template.spec.containers[0];
    expect(web.args).toEqual(['shop', 'serve']);
    expect(web.env).toEqual([{ name: 'A', value: '1' }, { name: 'PORT', value: '23456' }]);
    expect(web.ports).toEqual([
      { containerPort: 8080, hostPort: 18080, hostIP: '127.0.0.1', protocol: 'TCP' },
      { containerPort: 23456, hostPort: 23456, hostIP: '127.0.0.1', protocol: 'TCP' },
    ]);
    const header = text.split('\n').filter((line) => line.startsWith('#'));
    expect(header.join('\n')).toMatch(/route :443 l7 \(mc-proxy routing and TLS\)/);
    expect(header.join('\n')).toMatch(/web: network "shopnet"/);
    expect(header.join('\n')).toMatch(/web: depends_on db/);
    expect(header.join('\n')).toMatch(/web: restart "no"/);
    expect(header.join('\n')).toMatch(/kubectl create secret generic shop-db-password/);
  });

  it('should write a Compose file with limits, file secrets, external network and named volumes kept by name', () => {
    const text = exportCompose({ spec, routeHostPorts: { web: [23456] } });
    const document = parseYaml(text) as Loose;

    expect(document.services.db).toMatchObject({ mem_limit: '512m', cpus: 1.5, secrets: ['db-password'], user: '999:999' });
    expect(document.services.web).toMatchObject({
      command: ['shop', 'serve'],
      environment: ['A=1', 'PORT=23456'],
      ports: ['127.0.0.1:18080:8080', '127.0.0.1:23456:23456'],
      depends_on: ['db'],
      networks: ['shopnet'],
      restart: 'no',
    });
    expect(document.volumes).toEqual({ shop_dbdata: { name: 'shop_dbdata' } });
    expect(document.networks).toEqual({ shopnet: { external: true, name: 'shopnet' } });
    expect(document.secrets).toEqual({ 'db-password': { file: './secrets/db-password' } });
    expect(text).toMatch(/^# .*\n(#.*\n)*# {3}- db: env_secrets PGPASSWORD = "db-password"/m);
  });

  it('should convert podman memory units to Kubernetes quantities', () => {
    expect(['512m', '2g', '1.5g', '64k', '1048576', '7b'].map(kubeMemory)).toEqual(['512Mi', '2Gi', '1.5Gi', '64Ki', '1048576', '7']);
  });
});
