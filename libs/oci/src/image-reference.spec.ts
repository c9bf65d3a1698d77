import { normalizeRegistryHost, registryHostOf } from './image-reference';

describe(registryHostOf.name, () => {
  it.each([
    ['127.0.0.1:5000/app:1.0', '127.0.0.1:5000'],
    ['127.0.0.1:5000/team/app@sha256:abc', '127.0.0.1:5000'],
    ['localhost/x:1', 'localhost'],
    ['localhost:5000/x', 'localhost:5000'],
    ['mcr.example.net/mcp/agent:2', 'mcr.example.net'],
    ['MCR.Example.NET/mcp/agent:2', 'mcr.example.net'],
    ['busybox', 'docker.io'],
    ['busybox:1.36', 'docker.io'],
    ['library/busybox:1.36', 'docker.io'],
    ['docker.io/library/busybox', 'docker.io'],
    ['index.docker.io/library/busybox', 'docker.io'],
  ])('should find the registry of %s as %s', (image, host) => {
    expect(registryHostOf(image)).toBe(host);
  });
});

describe(normalizeRegistryHost.name, () => {
  it.each([
    ['https://mcr.example.net/', 'mcr.example.net'],
    ['mcr.example.net/v2/', 'mcr.example.net'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['registry-1.docker.io', 'docker.io'],
  ])('should normalize %s to %s', (server, host) => {
    expect(normalizeRegistryHost(server)).toBe(host);
  });
});
