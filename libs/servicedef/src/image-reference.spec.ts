import { imageReferenceProblem, parseImageReference } from './image-reference';

describe(parseImageReference.name, () => {
  it.each([
    ['localhost/x:1.0', { domain: 'localhost', path: 'x', tag: '1.0', digest: undefined }],
    ['127.0.0.1:5000/app', { domain: '127.0.0.1:5000', path: 'app', tag: undefined, digest: undefined }],
    ['127.0.0.1:5000/team/app:2', { domain: '127.0.0.1:5000', path: 'team/app', tag: '2', digest: undefined }],
    ['busybox:1.36', { domain: undefined, path: 'busybox', tag: '1.36', digest: undefined }],
    ['library/busybox', { domain: undefined, path: 'library/busybox', tag: undefined, digest: undefined }],
    [`repo@sha256:${'a'.repeat(64)}`, { domain: undefined, path: 'repo', tag: undefined, digest: `sha256:${'a'.repeat(64)}` }],
  ])('should split %s', (reference, expected) => {
    expect(parseImageReference(reference)).toEqual(expected);
  });

  it.each(['', ':1.0', 'UPPER:1', 'a//b:1', 'a:b:c', 'a:-tag', 'repo@md5:abc', 'host:port/app:1', 'a b:1'])(
    'should reject %p',
    (reference) => {
      expect(parseImageReference(reference)).toBeUndefined();
    },
  );
});

describe(imageReferenceProblem.name, () => {
  it.each(['localhost/x:1.0', `repo@sha256:${'f'.repeat(64)}`, `repo@sha512:${'f'.repeat(128)}`, 'a:latest-rc'])(
    'should accept %s',
    (reference) => {
      expect(imageReferenceProblem(reference)).toBeUndefined();
    },
  );

  it.each([
    ['127.0.0.1:5000/app', 'must have an explicit tag or digest (untagged references mean :latest)'],
    ['app:latest', 'must not use the :latest tag; pin a version'],
    [`repo@sha256:${'A'.repeat(64)}`, 'has an invalid digest (expected sha256:<64 hex> or sha512:<128 hex>)'],
    ['', 'must be a valid image reference like registry.example/app:1.2.3'],
  ])('should reject %p', (reference, reason) => {
    expect(imageReferenceProblem(reference)).toBe(reason);
  });
});
