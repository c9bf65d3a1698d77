import { ComponentSpec } from '@mcp/common';
import { canonicalJson, componentSpecHash } from './component-hash';

const base: ComponentSpec = {
  name: 'web',
  image: 'localhost/notes:1.0',
  network: 'mcp',
  ports: ['9090:9090'],
  volumes: ['/srv/notes:/data'],
  cmd: ['serve'],
  env: ['A=1', 'B=2'],
  routes: [{ name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' }],
};

describe(componentSpecHash.name, () => {
  it('should be a sha256 hex digest', () => {
    expect(componentSpecHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should not depend on key order, at any level', () => {
    const reordered: ComponentSpec = {
      routes: [{ hostname: 'notes.example.net', mode: 'l7', port: 443, name: 'web' }],
      env: ['A=1', 'B=2'],
      cmd: ['serve'],
      volumes: ['/srv/notes:/data'],
      ports: ['9090:9090'],
      network: 'mcp',
      image: 'localhost/notes:1.0',
      name: 'web',
    };

    expect(componentSpecHash(reordered)).toBe(componentSpecHash(base));
  });

  it('should treat an undefined optional like an absent one', () => {
    const { network: _network, ...withoutNetwork } = base;

    expect(componentSpecHash({ ...withoutNetwork, user: undefined })).toBe(componentSpecHash(withoutNetwork));
  });

  it.each<[string, Partial<ComponentSpec>]>([
    ['image', { image: 'localhost/notes:1.1' }],
    ['network', { network: undefined }],
    ['user', { user: '0:0' }],
    ['restart', { restart: 'always' }],
    ['ports', { ports: ['9091:9090'] }],
    ['volumes', { volumes: [] }],
    ['cmd', { cmd: ['serve', '--debug'] }],
    ['env order', { env: ['B=2', 'A=1'] }],
    ['route port', { routes: [{ ...base.routes[0], port: 8443 }] }],
    ['route mode', { routes: [{ ...base.routes[0], mode: 'l4' }] }],
    ['route hostname', { routes: [{ ...base.routes[0], hostname: undefined }] }],
  ])('should change when %s changes', (_field, change) => {
    expect(componentSpecHash({ ...base, ...change })).not.toBe(componentSpecHash(base));
  });
});

describe(canonicalJson.name, () => {
  it('should sort keys and keep array order', () => {
    expect(canonicalJson({ b: [3, 1], a: { d: 1, c: undefined, b: null } })).toBe('{"a":{"b":null,"d":1},"b":[3,1]}');
  });
});
