import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgumentError, NotFoundError } from '@mcp/common';
import { RegistryCorruptError } from './registry-errors';
import {
  pruneSnapshots,
  restoreDatabase,
  snapshotDatabase,
  snapshotFileName,
  verifyDatabaseFile,
} from './registry-snapshot';
import { componentSpec } from './testing';
import { TypeormRegistry } from './typeorm-registry';

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function serviceNames(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare('SELECT name FROM services ORDER BY name')
      .all()
      .map((row) => (row as { name: string }).name);
  } finally {
    db.close();
  }
}

/** Overwrites a stretch of the file in the middle of its pages, past the header. */
function corrupt(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    fs.writeSync(fd, Buffer.alloc(Math.min(8192, size - 4096), 0xa5), 0, undefined, 4096 + 16);
  } finally {
    fs.closeSync(fd);
  }
}

describe('registry snapshots', () => {
  let dir: string;
  let source: string;
  const opened: TypeormRegistry[] = [];

  async function registryWith(names: string[]): Promise<TypeormRegistry> {
    const registry = await TypeormRegistry.open({ path: source });
    opened.push(registry);
    for (const name of names) {
      await registry.saveService({ name, active: true, components: [{ spec: componentSpec('web', { env: ['A=1'] }), desiredState: 'running' }] });
    }
    return registry;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-registry-snap-'));
    source = path.join(dir, 'data', 'registry.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((registry) => registry.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe(snapshotFileName.name, () => {
    it('should name the file after the UTC time, sortable and without separators', () => {
      expect(snapshotFileName(new Date('2026-11-23T22:54:34.567Z'))).toBe('mcp-registry-20261123T225434Z.db');
    });
  });

  describe(snapshotDatabase.name, () => {
    it('should copy a closed registry into a new directory as a verified 0600 file', async () => {
      await (await registryWith(['alpha', 'beta'])).close();
      const dest = path.join(dir, 'backups', snapshotFileName(new Date()));

      const result = snapshotDatabase({ source, dest });

      expect(result).toEqual({ path: dest, bytes: fs.statSync(dest).size });
      expect(mode(dest)).toBe(0o600);
      expect(serviceNames(dest)).toEqual(['alpha', 'beta']);
      expect(fs.readdirSync(path.dirname(dest))).toEqual([path.basename(dest)]);
    });

    it('should copy a registry that another process is writing to', async () => {
      await (await registryWith(['alpha'])).close();
      // The writer commits one event per transaction, holding the lock a little each time,
      // and says "ready" after its first commit.
      const script = `
        const Database = require(process.argv[1]);
        const db = new Database(process.argv[2], { timeout: 5000 });
        const insert = db.prepare("INSERT INTO events (time, service, component, kind, message, from_state, to_state) VALUES (?, 'load', '', 'k', ?, '', '')");
        for (let i = 0; i < 400; i++) {
          db.exec('BEGIN IMMEDIATE');
          insert.run(new Date().toISOString(), String(i));
          const until = Date.now() + 2;
          while (Date.now() < until) {}
          db.exec('COMMIT');
          if (i === 0) process.stdout.write('ready\\n');
        }
        db.close();`;
      const writer = spawn(process.execPath, ['-e', script, require.resolve('better-sqlite3'), source], { stdio: ['ignore', 'pipe', 'inherit'] });
      const finished = new Promise<number | null>((resolve) => writer.on('exit', resolve));
      try {
        await new Promise<void>((resolve, reject) => {
          writer.stdout!.once('data', () => resolve());
          writer.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
        });
        const dest = path.join(dir, 'copy.db');

        const result = snapshotDatabase({ source, dest });

        expect(result.bytes).toBeGreaterThan(0);
        expect(serviceNames(dest)).toEqual(['alpha']);
        const copy = new Database(dest, { readonly: true });
        try {
          const ids = copy.prepare(`SELECT message FROM events WHERE service = 'load' ORDER BY id`).all() as Array<{ message: string }>;
          // A prefix of the writer's commits: consistent, never a torn transaction.
          expect(ids.length).toBeGreaterThanOrEqual(1);
          expect(ids.map((row) => row.message)).toEqual(ids.map((_, i) => String(i)));
        } finally {
          copy.close();
        }
      } finally {
        if (writer.exitCode === null) writer.kill();
        await finished;
      }
    });

    it('should check the copy with integrity_check and keep no copy that fails it', () => {
      // A row that breaks its table's NOT NULL: VACUUM INTO copies it as it is, and only
      // integrity_check on the copy notices.
      const bad = path.join(dir, 'bad.db');
      const db = new Database(bad);
      db.exec('CREATE TABLE t(a INTEGER)');
      db.exec('INSERT INTO t VALUES (NULL)');
      db.unsafeMode(true);
      db.pragma('writable_schema = ON');
      db.prepare("UPDATE sqlite_schema SET sql = 'CREATE TABLE t(a INTEGER NOT NULL)' WHERE name = 't'").run();
      db.close();
      const backups = path.join(dir, 'backups');

      expect(() => snapshotDatabase({ source: bad, dest: path.join(backups, 'copy.db') })).toThrow(RegistryCorruptError);
      expect(fs.readdirSync(backups)).toEqual([]);
    });

    it('should throw NotFoundError when the source does not exist, without creating it', () => {
      const missing = path.join(dir, 'missing.db');

      expect(() => snapshotDatabase({ source: missing, dest: path.join(dir, 'copy.db') })).toThrow(NotFoundError);
      expect(fs.existsSync(missing)).toBe(false);
    });
  });

  describe('TypeormRegistry.snapshot', () => {
    it('should copy the open registry and return the size', async () => {
      const registry = await registryWith(['alpha']);
      const dest = path.join(dir, 'copy.db');

      const result = await registry.snapshot({ path: dest });

      expect(result).toEqual({ path: dest, bytes: fs.statSync(dest).size });
      expect(serviceNames(dest)).toEqual(['alpha']);
      expect(mode(dest)).toBe(0o600);
    });
  });

  describe(verifyDatabaseFile.name, () => {
    it('should accept a sound database', async () => {
      await (await registryWith(['alpha'])).close();

      expect(() => verifyDatabaseFile(source)).not.toThrow();
    });

    it('should throw RegistryCorruptError for a damaged database', async () => {
      const registry = await registryWith(Array.from({ length: 50 }, (_, i) => `svc-${i}`));
      await registry.close();
      corrupt(source);

      expect(() => verifyDatabaseFile(source)).toThrow(RegistryCorruptError);
    });

    it('should throw RegistryCorruptError for a file that is not a database', () => {
      const junk = path.join(dir, 'junk.db');
      fs.writeFileSync(junk, 'not a database, just text that is long enough to have a header'.repeat(100));

      expect(() => verifyDatabaseFile(junk)).toThrow(RegistryCorruptError);
    });
  });

  describe(restoreDatabase.name, () => {
    it('should put a verified copy in place with mode 0600 and drop stale WAL files', async () => {
      await (await registryWith(['old'])).close();
      const backup = path.join(dir, 'backup.db');
      const other = await TypeormRegistry.open({ path: backup });
      await other.saveService({ name: 'restored', active: true, components: [] });
      await other.close();
      fs.writeFileSync(`${source}-wal`, 'stale');
      fs.writeFileSync(`${source}-shm`, 'stale');

      const result = restoreDatabase({ source: backup, dest: source });

      expect(result).toEqual({ path: source, bytes: fs.statSync(source).size });
      expect(mode(source)).toBe(0o600);
      expect(fs.existsSync(`${source}-wal`)).toBe(false);
      expect(fs.existsSync(`${source}-shm`)).toBe(false);
      const registry = await TypeormRegistry.open({ path: source });
      opened.push(registry);
      expect((await registry.listServices()).map((s) => s.name)).toEqual(['restored']);
    });

    it('should refuse a damaged snapshot and leave the current database alone', async () => {
      await (await registryWith(['current'])).close();
      const backup = path.join(dir, 'backup.db');
      fs.writeFileSync(backup, 'garbage'.repeat(1000));

      expect(() => restoreDatabase({ source: backup, dest: source })).toThrow(RegistryCorruptError);
      expect(serviceNames(source)).toEqual(['current']);
    });
  });

  describe(pruneSnapshots.name, () => {
    function touch(name: string, mtimeSeconds: number): string {
      const file = path.join(dir, name);
      fs.writeFileSync(file, 'x');
      fs.utimesSync(file, mtimeSeconds, mtimeSeconds);
      return file;
    }

    it('should keep the newest files and delete only older snapshots', () => {
      const oldest = touch('mcp-registry-20261101T000000Z.db', 1000);
      const older = touch('mcp-registry-20261102T000000Z.db', 2000);
      touch('mcp-registry-20261103T000000Z.db', 3000);
      touch('mcp-registry-20261104T000000Z.db', 4000);
      touch('notes.db', 10);
      touch('mcp-registry-20261101T000000Z.db.tmp-1-ab', 10);

      const removed = pruneSnapshots({ dir, keep: 2 });

      expect(removed.sort()).toEqual([oldest, older].sort());
      expect(fs.readdirSync(dir).sort()).toEqual([
        'mcp-registry-20261101T000000Z.db.tmp-1-ab',
        'mcp-registry-20261103T000000Z.db',
        'mcp-registry-20261104T000000Z.db',
        'notes.db',
      ]);
    });

    it('should break modification-time ties by name', () => {
      touch('mcp-registry-a.db', 1000);
      const b = touch('mcp-registry-b.db', 1000);
      const c = touch('mcp-registry-c.db', 1000);

      expect(pruneSnapshots({ dir, keep: 1 })).toEqual([b, path.join(dir, 'mcp-registry-a.db')]);
      expect(fs.existsSync(c)).toBe(true);
    });

    it('should delete nothing when there are no more than keep snapshots', () => {
      touch('mcp-registry-a.db', 1000);

      expect(pruneSnapshots({ dir, keep: 7 })).toEqual([]);
    });

    it('should refuse to keep fewer than one snapshot', () => {
      touch('mcp-registry-a.db', 1000);

      expect(() => pruneSnapshots({ dir, keep: 0 })).toThrow(InvalidArgumentError);
      expect(fs.readdirSync(dir)).toEqual(['mcp-registry-a.db']);
    });
  });
});
