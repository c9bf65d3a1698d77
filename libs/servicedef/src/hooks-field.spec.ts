import { HEAD, issuesOf } from './testing/definition-issues';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';
import { componentSpecHash } from './component-hash';
import { specChanges } from './spec-diff';

/** SPEC §12's `[components.hooks]` (pre_deploy, timeout). */
describe('[components.hooks] (SPEC §12)', () => {
  it('should parse, export and carry a hook unchanged', () => {
    const spec = parseServiceDefinition(`${HEAD}\n[components.hooks]\npre_deploy = ["bin/rails", "db:migrate"]\ntimeout = "2m"\n`, 'web.toml');

    expect(spec.components[0].hooks).toEqual({ pre_deploy: ['bin/rails', 'db:migrate'], timeout: '2m' });
    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'again.toml')).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'rift')).toEqual(spec);
  });

  it('should leave a component without one free of it, on the wire and in its hash', () => {
    const spec = parseServiceDefinition(HEAD, 'web.toml');

    expect(spec.components[0]).not.toHaveProperty('hooks');
    expect(toProtoServiceSpec(spec).components[0]).not.toHaveProperty('hooks');
    expect(componentSpecHash(spec.components[0])).toBe(componentSpecHash({ ...spec.components[0], hooks: undefined }));
  });

  it('should name a changed hook in the plan', () => {
    const before = parseServiceDefinition(HEAD, 'web.toml').components[0];
    const after = { ...before, hooks: { pre_deploy: ['bin/migrate'] } };
    expect(specChanges(before, after)).toContain('hooks: (none) → pre_deploy [bin/migrate]');
  });

  it.each([
    ['no pre_deploy', '[components.hooks]\ntimeout = "1m"\n', 'components[0].hooks.pre_deploy', 'is required: the hook\'s argv, e.g. ["bin/rails", "db:migrate"]'],
    ['an empty pre_deploy', '[components.hooks]\npre_deploy = []\n', 'components[0].hooks.pre_deploy', 'must be a non-empty array of strings (argv, no shell), e.g. ["bin/rails", "db:migrate"]'],
    ['a shell string', '[components.hooks]\npre_deploy = "bin/rails db:migrate"\n', 'components[0].hooks.pre_deploy', 'must be a non-empty array of strings (argv, no shell), e.g. ["bin/rails", "db:migrate"]'],
    ['an empty argument', '[components.hooks]\npre_deploy = ["bin/x", ""]\n', 'components[0].hooks.pre_deploy[1]', 'must not be empty'],
    ['a bad timeout', '[components.hooks]\npre_deploy = ["bin/x"]\ntimeout = "ten"\n', 'components[0].hooks.timeout', '"ten" is not a duration (use a number with a unit: 500ms, 5s, 2m)'],
    ['an unknown key', '[components.hooks]\npre_deploy = ["bin/x"]\npost_deploy = ["bin/y"]\n', 'components[0].hooks.post_deploy', 'unknown key'],
    ['not a table', 'hooks = "bin/x"\n', 'components[0].hooks', 'must be a table ([components.hooks])'],
  ])('should refuse %s with file and path', (_what, text, path, reason) => {
    expect(issuesOf(`${HEAD}${text}`)).toEqual([{ file: 'web.toml', path, reason }]);
  });
});
