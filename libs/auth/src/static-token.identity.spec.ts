import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, IdentityUnavailableError } from '@mcp/common';
import { FakeClock } from '../../../test/fakes/fake-clock';
import { parseTokensFile, StaticTokenIdentity, writeTokensFile } from './static-token.identity';
import { generateToken, hashToken } from './token-hash';

describe(StaticTokenIdentity.name, () => {
  let dir: string;
  let tokensFile: string;
  let clock: FakeClock;
  let warnings: string[];
  let sut: StaticTokenIdentity;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-static-tokens-'));
    tokensFile = path.join(dir, 'tokens.toml');
    clock = new FakeClock();
    warnings = [];
    await writeTokensFile(tokensFile, [
      { token: 'tok-admin', username: 'alice', roles: ['admin'] },
      { token: 'tok-viewer', username: 'vic', roles: ['viewer'] },
      { token: 'tok-dated', username: 'dan', roles: ['admin'], expiresAt: new Date('2026-06-01T00:00:00Z') },
    ]);
    sut = new StaticTokenIdentity({ tokensFile, clock, warn: (message) => warnings.push(message) });
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('validate', () => {
    it('should accept a listed token with its username and roles', async () => {
      await expect(sut.validate('tok-admin')).resolves.toEqual({
        valid: true,
        caller: { subject: 'alice', username: 'alice', roles: ['admin'] },
      });
    });

    it('should return the roles of a token with a non-admin role (the authenticator decides)', async () => {
      await expect(sut.validate('tok-viewer')).resolves.toMatchObject({ valid: true, caller: { roles: ['viewer'] } });
    });

    it('should reject an unknown token', async () => {
      await expect(sut.validate('tok-nobody')).resolves.toEqual({ valid: false, reason: 'unknown token' });
    });

    it('should reject a token that differs only by a trailing newline', async () => {
      await expect(sut.validate('tok-admin\n')).resolves.toMatchObject({ valid: false });
    });

    it('should honour expires_at', async () => {
      await expect(sut.validate('tok-dated')).resolves.toMatchObject({
        valid: true,
        caller: { expiresAt: new Date('2026-06-01T00:00:00Z') },
      });

      clock.set(new Date('2026-06-01T00:00:00Z'));

      await expect(sut.validate('tok-dated')).resolves.toEqual({ valid: false, reason: 'token expired' });
    });

    it('should pick up a rotated file without a restart', async () => {
      await expect(sut.validate('tok-admin')).resolves.toMatchObject({ valid: true });

      await writeTokensFile(tokensFile, [{ token: 'tok-new', username: 'alice', roles: ['admin'] }]);

      await expect(sut.validate('tok-admin')).resolves.toMatchObject({ valid: false });
      await expect(sut.validate('tok-new')).resolves.toMatchObject({ valid: true, caller: { username: 'alice' } });
    });

    it('should pick up a file rewritten in place', async () => {
      await sut.validate('tok-admin');
      const text = `[[tokens]]\nsha256 = "${hashToken('tok-edited')}"\nusername = "eve"\nroles = ["admin"]\n`;

      await fs.writeFile(tokensFile, text);

      await expect(sut.validate('tok-edited')).resolves.toMatchObject({ valid: true, caller: { username: 'eve' } });
    });

    it('should fail closed when the file becomes invalid', async () => {
      await sut.validate('tok-admin');

      await fs.writeFile(tokensFile, 'this is [not toml');

      await expect(sut.validate('tok-admin')).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should fail closed when the file disappears', async () => {
      await fs.rm(tokensFile);

      await expect(sut.validate('tok-admin')).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should warn once when the file is readable by others', async () => {
      await fs.chmod(tokensFile, 0o644);

      await sut.validate('tok-admin');
      await sut.validate('tok-admin');

      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('0644');
      expect(warnings[0]).not.toContain('tok-admin');
    });

    it('should not warn for a 0600 file', async () => {
      await sut.validate('tok-admin');

      expect(warnings).toEqual([]);
    });
  });

  describe('load', () => {
    it('should report every problem of an invalid file at once', async () => {
      await fs.writeFile(
        tokensFile,
        ['[[tokens]]', 'sha256 = "abc"', 'roles = "admin"', '[[tokens]]', `sha256 = "${hashToken('x')}"`, 'username = "u"', 'roles = ["admin"]', 'colour = "red"'].join('\n'),
      );

      const error = await sut.load().catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual([
        'tokens[0].sha256',
        'tokens[0].username',
        'tokens[0].roles',
        'tokens[1].colour',
      ]);
    });
  });
});

describe(writeTokensFile.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-write-tokens-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('should write only hashes, with mode 0600', async () => {
    const file = path.join(dir, 'sub', 'tokens.toml');
    const token = generateToken();

    await writeTokensFile(file, [{ token, username: 'alice', roles: ['admin'] }]);

    const text = await fs.readFile(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).toContain(hashToken(token));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(parseTokensFile(file, text)).toEqual([{ sha256: hashToken(token), username: 'alice', roles: ['admin'] }]);
  });

  it('should accept a precomputed hash', async () => {
    const file = path.join(dir, 'tokens.toml');
    const sha256 = hashToken('given');

    await writeTokensFile(file, [{ sha256, username: 'ops', roles: ['admin'] }]);

    expect(parseTokensFile(file, await fs.readFile(file, 'utf8'))).toMatchObject([{ sha256, username: 'ops' }]);
  });

  it('should refuse to write an invalid entry', async () => {
    const file = path.join(dir, 'tokens.toml');

    await expect(writeTokensFile(file, [{ sha256: 'short', username: 'ops', roles: ['admin'] }])).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(fs.stat(file)).rejects.toThrow();
  });
});
