import type { ComponentSpec } from '@mcp/common';
import { type ContainerDetails, LABEL_MANAGED, LABEL_SPEC_HASH } from '@mcp/runtime';
import { containerDrift, type ExpectedContainer, REPLACED_BY_HAND, summaryDrift } from './container-drift';

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const spec: ComponentSpec = { name: 'web', image: IMAGE, ports: ['8080-8081:80-81'], volumes: ['/srv/web:/data:ro'], cmd: [], env: ['MODE=prod'], routes: [] };

function expected(extra: Partial<ExpectedContainer> = {}): ExpectedContainer {
  return { spec, image: IMAGE, specHash: 'h1', ports: [...spec.ports, '127.0.0.1:31000:31000'], env: [...spec.env, 'PORT=31000'], madeByMcp: true, ...extra };
}

/** The container MCP made from `spec`, as podman's inspect reports it. */
function made(extra: Partial<ContainerDetails> = {}): ContainerDetails {
  return {
    id: 'c1',
    name: 'web',
    image: IMAGE,
    state: 'running',
    status: 'running',
    command: [],
    labels: { [LABEL_MANAGED]: 'true', [LABEL_SPEC_HASH]: 'h1' },
    ports: [],
    env: ['PATH=/bin', 'MODE=prod', 'PORT=31000', 'container=podman'],
    cmd: ['/bin/httpd'],
    volumes: ['/srv/web:/data:ro,rbind'],
    portSpecs: ['8080:80/tcp', '8081:81/tcp', '127.0.0.1:31000:31000/tcp'],
    network: 'slirp4netns',
    user: 'www',
    restart: 'no',
    ...extra,
  };
}

describe(containerDrift.name, () => {
  it('should find nothing in the container MCP made, however podman spells its defaults (port ranges, mount options, rootless network, image user, restart no)', () => {
    expect(containerDrift(expected(), made())).toEqual([]);
  });

  it('should accept podman\'s long image name and a rollback\'s repo@digest', () => {
    expect(containerDrift(expected({ spec: { ...spec, image: 'busybox:1.0' }, image: 'busybox:1.0' }), made({ image: 'docker.io/library/busybox:1.0' }))).toEqual([]);
    expect(containerDrift(expected({ image: 'localhost/mcp-test/busybox@sha256:abc' }), made({ image: 'localhost/mcp-test/busybox@sha256:abc' }))).toEqual([]);
    expect(containerDrift(expected({ spec: { ...spec, image: 'registry.example.net:5000/app' }, image: 'registry.example.net:5000/app' }), made({ image: 'registry.example.net:5000/app:latest' }))).toEqual([]);
    expect(containerDrift(expected(), made({ image: 'localhost/mcp-test/busybox@sha256:abc' }))).toEqual([`image: ${IMAGE} → localhost/mcp-test/busybox@sha256:abc`]);
  });

  it('should call a container without MCP\'s label replaced by hand, and say so apart when MCP made it from another spec', () => {
    expect(summaryDrift(expected(), made({ labels: { [LABEL_MANAGED]: 'true', [LABEL_SPEC_HASH]: 'other' } }))).toEqual([
      'spec: the container was made from another spec than the one recorded as deployed',
    ]);
    expect(summaryDrift(expected(), made({ labels: {} }))).toEqual([`${REPLACED_BY_HAND}: the container has no mcp.managed label (run by hand, not by MCP)`]);
    expect(summaryDrift(expected({ madeByMcp: false }), made({ labels: {} }))).toEqual([]);
  });

  it('should list each field that differs, env by name only (never a value)', () => {
    const fields = containerDrift(
      expected({ spec: { ...spec, user: 'app', restart: 'always', memory: '64m', cpus: 1, network: 'backend', cmd: ['serve'] } }),
      made({ env: ['MODE=secret-value'], cmd: ['sh'], portSpecs: ['8080:80/tcp'], volumes: [], network: 'host', user: 'root', restart: 'no', memoryBytes: 64 * 1024 * 1024, cpus: 2 }),
    );
    expect(fields).toEqual([
      'cmd: [serve] → [sh]',
      'env: ~MODE -PORT',
      'ports: -8081:81/tcp -127.0.0.1:31000:31000/tcp',
      'volumes: -/srv/web:/data',
      'network: backend → host',
      'user: app → root',
      'restart: always → no',
      'cpus: 1 → 2',
    ]);
    expect(fields.join('\n')).not.toContain('secret-value');
  });
});
