import {
  ContainerNotFoundError,
  ImageNotFoundError,
  PortConflictError,
  RegistryAuthError,
  RegistryUnreachableError,
  RuntimeCommandError,
  RuntimeUnavailableError,
} from '@mcp/common';
import { classifyPodmanFailure, podmanMessage, runtimeUnavailable, STDERR_LIMIT, trimStderr } from './podman-errors';

// stderr lines as podman 4.3.1 wrote them on this machine.
const STDERR = {
  unauthorized:
    'Trying to pull 127.0.0.1:15555/absent:1.0...\nError: initializing source docker://127.0.0.1:15555/absent:1.0: reading manifest 1.0 in 127.0.0.1:15555/absent: unauthorized: authentication required\n',
  manifestUnknown:
    'Trying to pull 127.0.0.1:15555/absent:1.0...\nError: initializing source docker://127.0.0.1:15555/absent:1.0: reading manifest 1.0 in 127.0.0.1:15555/absent: manifest unknown: manifest unknown\n',
  refused:
    'Trying to pull 127.0.0.1:1/nope:1.0...\ntime="2026-11-23T22:52:57Z" level=warning msg="Failed, retrying in 1s ... (1/3). Error: initializing source docker://127.0.0.1:1/nope:1.0: pinging container registry 127.0.0.1:1: Get \\"https://127.0.0.1:1/v2/\\": dial tcp 127.0.0.1:1: connect: connection refused"\nError: initializing source docker://127.0.0.1:1/nope:1.0: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused\n',
  httpToHttps:
    'Error: initializing source docker://127.0.0.1:15555/mcp-test/busybox:1.0: pinging container registry 127.0.0.1:15555: Get "https://127.0.0.1:15555/v2/": http: server gave HTTP response to HTTPS client\n',
  imageNotKnown: 'Error: localhost/mcp-test/absent:1.0: image not known\n',
  portInUse: 'Error: cannot listen on the TCP port: listen tcp4 127.0.0.1:18999: bind: address already in use\n',
  noSuchContainer: 'Error: no container with name or ID "nosuch-x" found: no such container\n',
  inspectMissing: 'Error: inspecting object: no such container nosuch-x\n',
  nameInUse:
    'Error: creating container storage: the container name "rtx-3" is already in use by 74e6. You have to remove that container to be able to reuse that name: that name is already in use\n',
};

describe(classifyPodmanFailure.name, () => {
  it.each([
    ['pull', STDERR.unauthorized, RegistryAuthError],
    ['pull', STDERR.manifestUnknown, ImageNotFoundError],
    ['pull', STDERR.refused, RegistryUnreachableError],
    ['pull', STDERR.httpToHttps, RegistryUnreachableError],
    ['run', STDERR.imageNotKnown, ImageNotFoundError],
    ['run', STDERR.portInUse, PortConflictError],
    ['run', STDERR.nameInUse, RuntimeCommandError],
  ])("should map a failed podman %s to the typed error with podman's words (%#)", (verb, stderr, type) => {
    const sut = classifyPodmanFailure({ args: [verb, '--', 'x'], exitCode: 125, stderr, target: 'x' });

    expect(sut).toBeInstanceOf(type);
    expect(sut.constructor).toBe(type);
    const lastError =
      stderr
        .trim()
        .split('\n')
        .at(-1)
        ?.replace(/^Error: /, '') ?? '';
    expect(sut.message).toBe(`podman ${verb} x: ${lastError}`);
    expect((sut as RuntimeCommandError).details).toEqual({
      args: [verb, '--', 'x'],
      exitCode: 125,
      stderr: stderr.trim(),
    });
  });

  it.each([STDERR.noSuchContainer, STDERR.inspectMissing])(
    'should report a missing container as ContainerNotFoundError (%#)',
    (stderr) => {
      const sut = classifyPodmanFailure({
        args: ['stop'],
        exitCode: 125,
        stderr,
        target: 'nosuch-x',
        container: 'nosuch-x',
      });

      expect(sut).toBeInstanceOf(ContainerNotFoundError);
      expect((sut as ContainerNotFoundError).container).toBe('nosuch-x');
    },
  );

  it('should not call a failure ContainerNotFoundError when the command was not about one container', () => {
    const sut = classifyPodmanFailure({ args: ['ps'], exitCode: 125, stderr: STDERR.noSuchContainer, target: '' });

    expect(sut.constructor).toBe(RuntimeCommandError);
  });

  it('should name the exit code when podman said nothing', () => {
    const sut = classifyPodmanFailure({ args: ['start'], exitCode: 7, stderr: '', target: 'c' });

    expect(sut.message).toBe('podman start c: exit code 7');
  });

  it('should keep only the end of a long stderr', () => {
    const stderr = `${'x'.repeat(10_000)}\nError: the verdict`;
    const sut = classifyPodmanFailure({ args: ['run'], exitCode: 1, stderr, target: 'c' }) as RuntimeCommandError;

    expect(sut.details.stderr).toHaveLength(STDERR_LIMIT);
    expect(sut.details.stderr.endsWith('Error: the verdict')).toBe(true);
    expect(sut.message).toBe('podman run c: the verdict');
  });
});

describe(podmanMessage.name, () => {
  it('should prefer the last Error line over warnings after it', () => {
    expect(podmanMessage('Error: first\nError: second\nwarning: trailing\n')).toBe('second');
  });

  it('should fall back to the last non-empty line', () => {
    expect(podmanMessage('one\ntwo\n\n')).toBe('two');
  });
});

describe(trimStderr.name, () => {
  it('should trim whitespace and leave short text alone', () => {
    expect(trimStderr('  hello \n')).toBe('hello');
  });
});

describe(runtimeUnavailable.name, () => {
  it('should say the binary was not found for ENOENT', () => {
    const cause = Object.assign(new Error('spawn /nonexistent ENOENT'), { code: 'ENOENT' });
    const sut = runtimeUnavailable('/nonexistent', cause);

    expect(sut).toBeInstanceOf(RuntimeUnavailableError);
    expect(sut.message).toBe('container runtime unavailable: /nonexistent: not found');
    expect(sut.cause).toBe(cause);
  });
});
