import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryAuthError, RegistryUnreachableError } from '@mcp/common';
import { PodmanRegistryLogin } from './registry-login';

describe(PodmanRegistryLogin.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-login-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A stand-in podman that records its argv and stdin, then behaves as told. */
  function fakePodman(body: string): string {
    const file = path.join(dir, 'podman');
    fs.writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\ncat > "${dir}/stdin"\n${body}\n`, { mode: 0o755 });
    return file;
  }

  describe('login', () => {
    it('should pass the secret on stdin only, never in argv', async () => {
      const sut = new PodmanRegistryLogin({ podmanPath: fakePodman('exit 0') });

      await sut.login({ authFile: '/a/auth.json', server: 'mcr.example.net', username: 'u', secret: 'top-secret', tlsVerify: false });

      expect(fs.readFileSync(path.join(dir, 'argv'), 'utf8').split('\n').filter((l) => l)).toEqual([
        'login', '--authfile', '/a/auth.json', '--username', 'u', '--password-stdin', '--tls-verify=false', '--', 'mcr.example.net',
      ]);
      expect(fs.readFileSync(path.join(dir, 'stdin'), 'utf8')).toBe('top-secret');
    });

    it('should omit --tls-verify=false for registries with TLS verification', async () => {
      const sut = new PodmanRegistryLogin({ podmanPath: fakePodman('exit 0') });

      await sut.login({ authFile: '/a/auth.json', server: 'mcr.example.net', username: 'u', secret: 's', tlsVerify: true });

      expect(fs.readFileSync(path.join(dir, 'argv'), 'utf8')).not.toContain('--tls-verify');
    });

    it('should map a refused login to RegistryAuthError', async () => {
      const sut = new PodmanRegistryLogin({
        podmanPath: fakePodman('echo \'Error: logging into "mcr.example.net": invalid username/password\' >&2; exit 125'),
      });

      await expect(sut.login({ authFile: '/a', server: 'mcr.example.net', username: 'u', secret: 's', tlsVerify: true })).rejects.toBeInstanceOf(
        RegistryAuthError,
      );
    });

    it('should map an unreachable registry to RegistryUnreachableError', async () => {
      const sut = new PodmanRegistryLogin({
        podmanPath: fakePodman('echo \'Error: pinging container registry x: dial tcp: connection refused\' >&2; exit 125'),
      });

      await expect(sut.login({ authFile: '/a', server: 'x', username: 'u', secret: 's', tlsVerify: true })).rejects.toBeInstanceOf(RegistryUnreachableError);
    });
  });
});
