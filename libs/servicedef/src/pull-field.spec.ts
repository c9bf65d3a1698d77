import { HEAD, issuesOf } from './testing/definition-issues';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';
import { componentSpecHash } from './component-hash';

/** SPEC §13's component field `pull`. */
describe('pull (SPEC §13)', () => {
  it.each(['never', 'missing', 'always'])('should parse, export and carry pull = "%s" unchanged', (policy) => {
    const spec = parseServiceDefinition(`${HEAD}pull = "${policy}"\n`, 'web.toml');

    expect(spec.components[0].pull).toBe(policy);
    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'again.toml')).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'rift')).toEqual(spec);
  });

  it('should leave a component without it free of it, on the wire and in its hash', () => {
    const spec = parseServiceDefinition(HEAD, 'web.toml');

    expect(toProtoServiceSpec(spec).components[0]).not.toHaveProperty('pull');
    expect(spec.components[0]).not.toHaveProperty('pull');
    expect(componentSpecHash(spec.components[0])).toBe(componentSpecHash({ ...spec.components[0], pull: undefined }));
  });

  it.each([
    ['an unknown policy', 'pull = "sometimes"\n', 'must be "never", "missing" or "always"'],
    ['a boolean', 'pull = false\n', 'must be "never", "missing" or "always"'],
  ])('should refuse %s with file and path', (_what, line, reason) => {
    expect(issuesOf(`${HEAD}${line}`)).toEqual([{ file: 'web.toml', path: 'components[0].pull', reason }]);
  });
});
