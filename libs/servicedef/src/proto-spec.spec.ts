import { ServiceSpec } from '@mcp/common';
import { mcpv1 } from '@mcp/proto';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { validateServiceSpec } from './validate-service-spec';

const full: ServiceSpec = {
  name: 'notes',
  node: 'rift',
  active: false,
  components: [
    {
      name: 'web',
      image: 'localhost/notes:1.0',
      network: 'mcp',
      user: '0:0',
      restart: 'always',
      ports: ['127.0.0.1:9090:9090'],
      volumes: ['/srv/notes:/data'],
      cmd: ['notes', 'serve'],
      env: ['A=1'],
      routes: [
        { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
        { port: 8443, mode: 'l4' },
      ],
      memory: '512m',
      cpus: 0.5,
      secrets: ['db-password', 'tls_key'],
      env_secrets: { DB_PASSWORD: 'db-password' },
      depends_on: ['worker'],
    },
    { name: 'worker', image: 'localhost/worker:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [] },
  ],
};

describe(toProtoServiceSpec.name, () => {
  it('should send absent optionals as empty strings and drop node', () => {
    const sut = toProtoServiceSpec(full);

    expect(sut).toStrictEqual<mcpv1.ServiceSpec>({
      name: 'notes',
      active: false,
      components: [
        {
          name: 'web',
          image: 'localhost/notes:1.0',
          network: 'mcp',
          user: '0:0',
          memory: '512m',
          cpus: 0.5,
          secrets: ['db-password', 'tls_key'],
          envSecrets: { DB_PASSWORD: 'db-password' },
          dependsOn: ['worker'],
          restart: 'always',
          ports: ['127.0.0.1:9090:9090'],
          volumes: ['/srv/notes:/data'],
          cmd: ['notes', 'serve'],
          routes: [
            { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
            { name: '', port: 8443, mode: 'l4', hostname: '' },
          ],
          env: ['A=1'],
        },
        { name: 'worker', image: 'localhost/worker:1.0', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '', restart: '', ports: [], volumes: [], cmd: [], routes: [], env: [] },
      ],
    });
  });
});

describe(fromProtoServiceSpec.name, () => {
  it('should round-trip every field, with node supplied by the receiver', () => {
    expect(fromProtoServiceSpec(toProtoServiceSpec(full), 'rift')).toStrictEqual(full);
  });

  it('should read an empty mode as l4 and missing lists as empty', () => {
    const msg = {
      name: 'notes',
      active: true,
      components: [{ name: 'web', image: 'a:1', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '', restart: '', routes: [{ name: '', port: 443, mode: '', hostname: '' }] }],
    } as unknown as mcpv1.ServiceSpec;

    const sut = fromProtoServiceSpec(msg, 'rift');

    expect(sut.components[0]).toStrictEqual({
      name: 'web',
      image: 'a:1',
      ports: [],
      volumes: [],
      cmd: [],
      env: [],
      routes: [{ port: 443, mode: 'l4' }],
    });
  });

  it('should keep an unknown mode so that validation can name it', () => {
    const msg = toProtoServiceSpec(full);
    msg.components[0].routes[0].mode = 'l3';

    expect(() => validateServiceSpec(fromProtoServiceSpec(msg, 'rift'))).toThrow(
      'components[0].routes[0].mode: must be "l4" or "l7"',
    );
  });

  it('should produce a spec that validation accepts unchanged', () => {
    expect(validateServiceSpec(fromProtoServiceSpec(toProtoServiceSpec(full), 'rift'))).toStrictEqual(full);
  });
});
