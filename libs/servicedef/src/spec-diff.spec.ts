import type { ComponentSpec } from '@mcp/common';
import { specChanges } from './spec-diff';

const base: ComponentSpec = { name: 'web', image: 'registry.example/web:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [] };

describe(specChanges.name, () => {
  it('should be empty when nothing differs', () => {
    expect(specChanges(base, { ...base })).toEqual([]);
  });

  it('should name a memory change (SPEC §9 fields were once not diffed at all)', () => {
    expect(specChanges({ ...base, memory: '256m' }, { ...base, memory: '512m' })).toEqual(['memory: 256m → 512m']);
  });

  it('should name cpus, secrets, env_secrets and depends_on changes, never a secret value', () => {
    const before: ComponentSpec = { ...base, cpus: 1, secrets: ['tls-key'], env_secrets: { DB_PASSWORD: 'db', OLD: 'old' }, depends_on: ['db'] };
    const after: ComponentSpec = { ...base, cpus: 0.5, secrets: ['api-key'], env_secrets: { DB_PASSWORD: 'db2', NEW: 'new' }, depends_on: ['db', 'cache'] };
    expect(specChanges(before, after)).toEqual([
      'cpus: 1 → 0.5',
      'secrets: +api-key -tls-key',
      'env_secrets: ~DB_PASSWORD +NEW -OLD',
      'depends_on: +cache',
    ]);
    expect(specChanges(base, { ...base, memory: '1g', secrets: ['a'] })).toEqual(['memory: (none) → 1g', 'secrets: +a']);
  });

  it('should keep the plan lines of the fields it always knew, in the same order', () => {
    const after: ComponentSpec = {
      ...base,
      image: 'registry.example/web:2.0',
      user: '0:0',
      env: ['FOO=1'],
      ports: ['8080:80'],
      cmd: ['httpd', '-f'],
      routes: [{ name: 'http', port: 80, mode: 'l7', hostname: 'web.example' }],
      health: { http: '/up' },
    };
    expect(specChanges(base, after)).toEqual([
      'image: 1.0 → 2.0',
      'user: (none) → 0:0',
      'env: +FOO',
      'ports: +8080:80',
      'cmd: (image default) → [httpd -f]',
      'routes: +http=:80/l7@web.example',
      'health: (implicit) → GET /up',
    ]);
  });
});
