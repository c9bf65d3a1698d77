import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidServiceDefinitionError, NotFoundError } from '@mcp/common';
import { loadServiceDir, loadServiceFile } from './service-files';

function definition(name: string, extra = ''): string {
  return `name = "${name}"\nnode = "rift"\n${extra}\n[[components]]\nname = "${name}"\nimage = "localhost/${name}:1.0"\n`;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('service files', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mcp-servicedef-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe(loadServiceFile.name, () => {
    it('should load and validate one file', async () => {
      const file = path.join(dir, 'notes.toml');
      await writeFile(file, definition('notes', 'active = false'));

      const sut = await loadServiceFile(file);

      expect(sut).toMatchObject({ name: 'notes', node: 'rift', active: false });
    });

    it('should name the file in every issue', async () => {
      const file = path.join(dir, 'notes.toml');
      await writeFile(file, definition('notes', 'colour = "blue"'));

      const error = await rejection(loadServiceFile(file));

      expect(error).toBeInstanceOf(InvalidServiceDefinitionError);
      expect((error as InvalidServiceDefinitionError).issues).toEqual([{ file, path: 'colour', reason: 'unknown key' }]);
    });

    it('should throw NotFoundError for a missing file', async () => {
      await expect(loadServiceFile(path.join(dir, 'nope.toml'))).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe(loadServiceDir.name, () => {
    it('should load every *.toml file sorted by name and ignore other files', async () => {
      await writeFile(path.join(dir, 'zeta.toml'), definition('zeta'));
      await writeFile(path.join(dir, 'alpha.toml'), definition('alpha'));
      await writeFile(path.join(dir, 'README.md'), 'not a definition');
      await writeFile(path.join(dir, 'alpha.toml.bak'), 'junk = [');
      await mkdir(path.join(dir, 'folder.toml'));

      const sut = await loadServiceDir(dir);

      expect(sut.map((spec) => spec.name)).toEqual(['alpha', 'zeta']);
    });

    it('should follow symlinked definitions', async () => {
      const elsewhere = path.join(dir, 'elsewhere');
      await mkdir(elsewhere);
      await writeFile(path.join(elsewhere, 'notes.toml'), definition('notes'));
      const services = path.join(dir, 'services');
      await mkdir(services);
      await symlink(path.join(elsewhere, 'notes.toml'), path.join(services, 'notes.toml'));

      expect((await loadServiceDir(services)).map((spec) => spec.name)).toEqual(['notes']);
    });

    it('should give [] for an empty directory', async () => {
      await expect(loadServiceDir(dir)).resolves.toEqual([]);
    });

    it('should name the one bad file, and only it', async () => {
      await writeFile(path.join(dir, 'alpha.toml'), definition('alpha'));
      await writeFile(path.join(dir, 'bravo.toml'), definition('bravo').replace('localhost/bravo:1.0', 'localhost/bravo'));
      await writeFile(path.join(dir, 'charlie.toml'), definition('charlie'));

      const error = await rejection(loadServiceDir(dir));

      expect(error).toBeInstanceOf(InvalidServiceDefinitionError);
      const issues = (error as InvalidServiceDefinitionError).issues;
      expect(issues).toEqual([
        {
          file: path.join(dir, 'bravo.toml'),
          path: 'components[0].image',
          reason: 'must have an explicit tag or digest (untagged references mean :latest)',
        },
      ]);
      expect((error as Error).message).toContain('bravo.toml: components[0].image:');
      expect((error as Error).message).not.toMatch(/alpha|charlie/);
    });

    it('should collect issues from every bad file, malformed TOML included', async () => {
      await writeFile(path.join(dir, 'alpha.toml'), 'name = "alpha"\nnode = [\n');
      await writeFile(path.join(dir, 'bravo.toml'), definition('bravo', 'active = "no"'));

      const error = (await rejection(loadServiceDir(dir))) as InvalidServiceDefinitionError;

      expect(error.issues.map((issue) => [path.basename(issue.file ?? ''), issue.path])).toEqual([
        ['alpha.toml', ''],
        ['bravo.toml', 'active'],
      ]);
      expect(error.issues[0].reason).toMatch(/^invalid TOML at line \d+, column \d+: /);
    });

    it('should flag a file whose name differs from the service it defines', async () => {
      await writeFile(path.join(dir, 'notes.toml'), definition('wiki'));

      const error = (await rejection(loadServiceDir(dir))) as InvalidServiceDefinitionError;

      expect(error.issues).toEqual([
        { file: path.join(dir, 'notes.toml'), path: 'name', reason: '"wiki" does not match the file name (expected "notes")' },
      ]);
    });

    it('should flag two files defining the same service', async () => {
      await writeFile(path.join(dir, 'notes.toml'), definition('notes'));
      await writeFile(path.join(dir, 'wiki.toml'), definition('notes'));

      const error = (await rejection(loadServiceDir(dir))) as InvalidServiceDefinitionError;

      expect(error.issues).toEqual([
        { file: path.join(dir, 'wiki.toml'), path: 'name', reason: '"notes" does not match the file name (expected "wiki")' },
        {
          file: path.join(dir, 'wiki.toml'),
          path: 'name',
          reason: `service "notes" is also defined in ${path.join(dir, 'notes.toml')}`,
        },
      ]);
    });

    it('should throw NotFoundError for a missing directory', async () => {
      await expect(loadServiceDir(path.join(dir, 'missing'))).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
