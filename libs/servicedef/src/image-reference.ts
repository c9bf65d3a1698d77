/**
 * Container image references, after the grammar of distribution/reference:
 * `[domain[:port]/]path[:tag][@algorithm:hex]`.
 */
export interface ImageReference {
  /** Registry host (with port), when the reference names one. */
  domain?: string;
  /** Repository path below the domain, e.g. `mcp-test/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };
const MAX_NAME_LENGTH = 255;

/** Splits a reference into its parts; undefined when it is not a valid reference. */
export function parseImageReference(reference: string): ImageReference | undefined {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) return undefined;
  }
  // A tag is a `:` after the last `/`; a `:` before it belongs to the registry's port.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (rest.length === 0 || rest.length > MAX_NAME_LENGTH) return undefined;
  const parts = rest.split('/');
  let domain: string | undefined;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    domain = parts.shift();
    if (!domain || !DOMAIN.test(domain)) return undefined;
  }
  if (!parts.every((part) => PATH_COMPONENT.test(part))) return undefined;
  return { domain, path: parts.join('/'), tag, digest };
}

function isValidDigest(digest: string): boolean {
  const [algorithm, hex, ...extra] = digest.split(':');
  const length = DIGEST_HEX_LENGTH[algorithm];
  return extra.length === 0 && length !== undefined && hex !== undefined && new RegExp(`^[0-9a-f]{${length}}$`).test(hex);
}

/**
 * Why an image reference is not acceptable in a service definition, or undefined when it is:
 * it must parse, and pin a version with an explicit tag other than `latest`, or a digest.
 */
export function imageReferenceProblem(reference: string): string | undefined {
  if (reference.includes('@') && !isValidDigest(reference.slice(reference.indexOf('@') + 1))) {
    return 'has an invalid digest (expected sha256:<64 hex> or sha512:<128 hex>)';
  }
  const parsed = parseImageReference(reference);
  if (!parsed) return 'must be a valid image reference like registry.example/app:1.2.3';
  if (parsed.tag === 'latest') return 'must not use the :latest tag; pin a version';
  if (parsed.tag === undefined && parsed.digest === undefined) {
    return 'must have an explicit tag or digest (untagged references mean :latest)';
  }
  return undefined;
}
