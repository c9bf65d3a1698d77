import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';
import { readTokenFile, tokenFileModeWarning, writeTokenFile } from './token-file';

describe('token-file', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-token-file-'));
    file = path.join(dir, 'token');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe(readTokenFile.name, () => {
    it('should strip a trailing newline (upstream rollout bug)', async () => {
      await fs.writeFile(file, 'abc.def.ghi\n');

      await expect(readTokenFile(file)).resolves.toBe('abc.def.ghi');
    });

    it('should strip surrounding whitespace and CRLF', async () => {
      await fs.writeFile(file, '  abc \r\n\r\n');

      await expect(readTokenFile(file)).resolves.toBe('abc');
    });

    it('should refuse an empty file clearly', async () => {
      await fs.writeFile(file, '\n \n');

      await expect(readTokenFile(file)).rejects.toThrow(new FailedPreconditionError(`token file ${file} is empty`));
    });

    it('should refuse a file holding several words', async () => {
      await fs.writeFile(file, 'one\ntwo\n');

      await expect(readTokenFile(file)).rejects.toBeInstanceOf(FailedPreconditionError);
    });

    it('should say when the file does not exist', async () => {
      await expect(readTokenFile(file)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe(writeTokenFile.name, () => {
    it('should create the file and its directory privately', async () => {
      const nested = path.join(dir, 'a', 'b', 'token');

      await writeTokenFile(nested, 'tok');

      expect((await fs.stat(nested)).mode & 0o777).toBe(0o600);
      expect((await fs.stat(path.dirname(nested))).mode & 0o777).toBe(0o700);
      await expect(readTokenFile(nested)).resolves.toBe('tok');
    });

    it('should tighten the mode of an existing file', async () => {
      await fs.writeFile(file, 'old', { mode: 0o644 });
      await fs.chmod(file, 0o644);

      await writeTokenFile(file, 'new');

      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      await expect(fs.readFile(file, 'utf8')).resolves.toBe('new\n');
    });

    it('should refuse an empty token', async () => {
      await expect(writeTokenFile(file, ' \n')).rejects.toBeInstanceOf(FailedPreconditionError);
    });
  });

  describe(tokenFileModeWarning.name, () => {
    it('should warn when group or others have access', async () => {
      await fs.writeFile(file, 'tok');
      await fs.chmod(file, 0o640);

      expect(tokenFileModeWarning(file)).toBe(`token file ${file} has mode 0640; it should be 0600 (chmod 600 ${file})`);
    });

    it('should be quiet for 0600 and 0400', async () => {
      await fs.writeFile(file, 'tok');
      await fs.chmod(file, 0o600);
      expect(tokenFileModeWarning(file)).toBeUndefined();
      await fs.chmod(file, 0o400);
      expect(tokenFileModeWarning(file)).toBeUndefined();
    });

    it('should be quiet for a missing file', () => {
      expect(tokenFileModeWarning(path.join(dir, 'missing'))).toBeUndefined();
    });
  });
});
