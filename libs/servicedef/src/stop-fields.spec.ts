import { HEAD, issuesOf } from './testing/definition-issues';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';
import { componentSpecHash } from './component-hash';
import { specChanges } from './spec-diff';

/** Issue 20 item 6: per-component stop_signal and stop_timeout (podman --stop-signal, --stop-timeout). */
describe('stop_signal and stop_timeout', () => {
  it.each([
    ['SIGQUIT', '30s'],
    ['SIGINT', '0s'],
    ['SIGKILL', '1m'],
  ])('should parse, export and carry stop_signal = "%s", stop_timeout = "%s" unchanged', (signal, timeout) => {
    const spec = parseServiceDefinition(`${HEAD}stop_signal = "${signal}"\nstop_timeout = "${timeout}"\n`, 'web.toml');

    expect(spec.components[0]).toMatchObject({ stop_signal: signal, stop_timeout: timeout });
    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'again.toml')).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'rift')).toEqual(spec);
  });

  it('should leave a component without them free of them, on the wire and in its hash', () => {
    const spec = parseServiceDefinition(HEAD, 'web.toml');

    expect(toProtoServiceSpec(spec).components[0]).not.toHaveProperty('stopSignal');
    expect(toProtoServiceSpec(spec).components[0]).not.toHaveProperty('stopTimeout');
    expect(spec.components[0]).not.toHaveProperty('stop_signal');
    expect(componentSpecHash(spec.components[0])).toBe(componentSpecHash({ ...spec.components[0], stop_signal: undefined, stop_timeout: undefined }));
  });

  it('should change the hash and show in the deploy plan when set', () => {
    const before = parseServiceDefinition(HEAD, 'web.toml').components[0];
    const after = parseServiceDefinition(`${HEAD}stop_signal = "SIGQUIT"\nstop_timeout = "3s"\n`, 'web.toml').components[0];

    expect(componentSpecHash(after)).not.toBe(componentSpecHash(before));
    expect(specChanges(before, after)).toEqual(['stop_signal: (none) → SIGQUIT', 'stop_timeout: (none) → 3s']);
  });

  it.each([
    ['an unknown signal', 'stop_signal = "SIGFOO"\n', 'stop_signal', 'must be one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGKILL'],
    ['a signal without SIG', 'stop_signal = "TERM"\n', 'stop_signal', 'must be one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGKILL'],
    ['a signal number', 'stop_signal = 15\n', 'stop_signal', 'must be one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGKILL'],
    ['a timeout without a unit', 'stop_timeout = "30"\n', 'stop_timeout', '"30" is not a duration (use a number with a unit: 500ms, 5s, 2m)'],
    ['a timeout as a number', 'stop_timeout = 30\n', 'stop_timeout', 'must be a duration string like "5s"'],
    ['a fractional timeout', 'stop_timeout = "1500ms"\n', 'stop_timeout', 'must be whole seconds (podman stops in seconds), e.g. "30s" or "1m"'],
    ['a timeout over an hour', 'stop_timeout = "2h"\n', 'stop_timeout', 'must be at most 1h'],
  ])('should refuse %s with file and path', (_what, line, field, reason) => {
    expect(issuesOf(`${HEAD}${line}`)).toEqual([{ file: 'web.toml', path: `components[0].${field}`, reason }]);
  });
});
