import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, InvalidPathError, PathOutsideServiceError } from '@mcp/common';
import { ensureParentDirectory, parseServicePath, resolveServicePath } from './service-path';

describe('service paths', () => {
  let root: string;
  let srvRoot: string;
  let serviceDir: string;
  let outside: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-path-'));
    srvRoot = path.join(root, 'srv');
    serviceDir = path.join(srvRoot, 'app');
    outside = path.join(root, 'outside');
    fs.mkdirSync(serviceDir, { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'x');
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe(parseServicePath.name, () => {
    it.each([
      ['../x', 'parent segment'],
      ['a/../../x', 'nested parent segment'],
      ['a/..', 'trailing parent segment'],
      ['/etc/passwd', 'absolute'],
      ['a\0b', 'NUL byte'],
      ['', 'empty'],
      ['.', 'the directory itself'],
      ['./', 'the directory itself, with a slash'],
    ])('should refuse %j (%s) with InvalidPathError', (relative) => {
      expect(() => parseServicePath({ srvRoot, service: 'app', path: relative })).toThrow(InvalidPathError);
    });

    it.each([['../app'], ['App'], [''], ['a/b'], ['-x']])('should refuse the service name %j', (service) => {
      expect(() => parseServicePath({ srvRoot, service, path: 'f' })).toThrow(InvalidArgumentError);
    });

    it('should normalise redundant segments', () => {
      const sut = parseServicePath({ srvRoot, service: 'app', path: './conf//app.toml' });

      expect(sut).toEqual({ serviceDir, relative: 'conf/app.toml', target: path.join(serviceDir, 'conf', 'app.toml') });
    });
  });

  describe(resolveServicePath.name, () => {
    it('should refuse a symlink inside the directory pointing outside', async () => {
      fs.symlinkSync('/etc', path.join(serviceDir, 'etc'));

      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'etc/passwd', create: false })).rejects.toThrow(PathOutsideServiceError);
    });

    it('should refuse a symlinked file pointing outside', async () => {
      fs.symlinkSync(path.join(outside, 'secret'), path.join(serviceDir, 'secret'));

      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'secret', create: false })).rejects.toThrow(PathOutsideServiceError);
    });

    it('should refuse a new file under a symlinked parent directory pointing outside', async () => {
      fs.symlinkSync(outside, path.join(serviceDir, 'data'));

      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'data/new/file.txt', create: true })).rejects.toThrow(PathOutsideServiceError);
      expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);
    });

    it('should refuse a dangling symlink pointing outside', async () => {
      fs.symlinkSync(path.join(outside, 'missing'), path.join(serviceDir, 'dangling'));

      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'dangling', create: true })).rejects.toThrow(PathOutsideServiceError);
    });

    it('should refuse a symlink into a sibling directory whose name starts with the service name', async () => {
      // `/srv/app2` is not inside `/srv/app`, though the string starts the same.
      fs.mkdirSync(path.join(srvRoot, 'app2'));
      fs.writeFileSync(path.join(srvRoot, 'app2', 'secret'), 'x');
      fs.symlinkSync(path.join(srvRoot, 'app2', 'secret'), path.join(serviceDir, 'x'));
      fs.symlinkSync(path.join(srvRoot, 'app2'), path.join(serviceDir, 'dir'));

      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'x', create: false })).rejects.toThrow(PathOutsideServiceError);
      await expect(resolveServicePath({ srvRoot, service: 'app', path: 'dir/new.txt', create: true })).rejects.toThrow(PathOutsideServiceError);
    });

    it('should accept a new file in new directories', async () => {
      const sut = await resolveServicePath({ srvRoot, service: 'app', path: 'a/b/c.txt', create: true });

      expect(sut.target).toBe(path.join(serviceDir, 'a', 'b', 'c.txt'));
      expect(await ensureParentDirectory(sut)).toBe(fs.realpathSync(path.join(serviceDir, 'a', 'b')));
      expect(fs.statSync(path.join(serviceDir, 'a', 'b')).isDirectory()).toBe(true);
    });

    it('should accept a symlink that stays inside the directory', async () => {
      fs.mkdirSync(path.join(serviceDir, 'real'));
      fs.symlinkSync('real', path.join(serviceDir, 'alias'));

      const sut = await resolveServicePath({ srvRoot, service: 'app', path: 'alias/file', create: false });

      expect(sut.relative).toBe('alias/file');
    });

    it('should create a missing service directory when asked', async () => {
      const sut = await resolveServicePath({ srvRoot, service: 'fresh', path: 'f', create: true });

      expect(fs.statSync(path.join(srvRoot, 'fresh')).isDirectory()).toBe(true);
      expect(sut.realServiceDir).toBe(fs.realpathSync(path.join(srvRoot, 'fresh')));
    });

    it('should accept a missing service directory without creating it for reads', async () => {
      await resolveServicePath({ srvRoot, service: 'absent', path: 'f', create: false });

      expect(fs.existsSync(path.join(srvRoot, 'absent'))).toBe(false);
    });
  });
});
