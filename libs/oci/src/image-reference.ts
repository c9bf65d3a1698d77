/** Docker Hub's canonical registry host, used for references without a registry part. */
export const DEFAULT_REGISTRY_HOST = 'docker.io';

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The registry host of an image reference, by the rules podman and docker use: the first
 * path component is a registry when it contains a `.` or a `:`, or is `localhost`; otherwise
 * the image lives on Docker Hub. `127.0.0.1:5000/app:1.0` → `127.0.0.1:5000`,
 * `localhost/x:1` → `localhost`, `busybox` and `library/busybox` → `docker.io`.
 */
export function registryHostOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.indexOf('/');
  if (slash < 0) return DEFAULT_REGISTRY_HOST;
  const first = withoutDigest.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return normalizeRegistryHost(first);
  }
  return DEFAULT_REGISTRY_HOST;
}

/**
 * A configured `server` as a comparable host: no scheme, no path, lower case, Docker Hub's
 * aliases folded into `docker.io`.
 */
export function normalizeRegistryHost(server: string): string {
  const host = server
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DEFAULT_REGISTRY_HOST : host;
}
