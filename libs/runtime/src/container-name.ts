/**
 * Container naming (SPEC §2): `<service>-<component>`, or `<service>` when the component is
 * named like its service. Mapping back consults the known services first, because both
 * service and component names may contain `-` (`mc-proxy` is one service, not `mc` + `proxy`).
 */

export interface ContainerNameParts {
  service: string;
  component: string;
}

export function containerNameFor(service: string, component: string): string {
  return service === component ? service : `${service}-${component}`;
}

/**
 * A registered component's container: the name stored when it was deployed or adopted, else
 * the one MCP gives it. The one place the agent gets a component's container name from.
 */
export function componentContainerName(component: { service: string; name: string; containerName?: string }): string {
  return component.containerName || containerNameFor(component.service, component.name);
}

/**
 * The longest known service that equals the name, or prefixes it followed by `-`, wins;
 * otherwise the name is split at its first `-`; a name without one is its own service and
 * component.
 */
export function splitContainerName(name: string, knownServices: Iterable<string>): ContainerNameParts {
  let best: string | undefined;
  for (const service of knownServices) {
    if (!service || (best !== undefined && service.length <= best.length)) continue;
    if (name === service || (name.startsWith(`${service}-`) && name.length > service.length + 1)) {
      best = service;
    }
  }
  if (best !== undefined) {
    return { service: best, component: best === name ? best : name.slice(best.length + 1) };
  }
  const dash = name.indexOf('-');
  if (dash > 0 && dash < name.length - 1) {
    return { service: name.slice(0, dash), component: name.slice(dash + 1) };
  }
  return { service: name, component: name };
}

const SHORT_DIGEST_LENGTH = 12;

/**
 * The "version" of an image reference: its tag, else the first 12 hex digits of its digest,
 * else ''. A registry port (`host:5000/app`) is not a tag.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon >= 0 && colon < lastSegment.length - 1) return lastSegment.slice(colon + 1);
  if (at >= 0) {
    const digest = image.slice(at + 1);
    const hex = digest.slice(digest.indexOf(':') + 1);
    return hex.slice(0, SHORT_DIGEST_LENGTH);
  }
  return '';
}
