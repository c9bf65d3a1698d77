import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { ComponentSpec } from '@mcp/common';
import { InitialSchema1795478400000 } from './migrations/1795478400000-initial-schema';
import { Releases1796169600000 } from './migrations/1796169600000-releases';
import { REGISTRY_ENTITIES } from './registry.entities';
import { HostPortInUseError } from './registry-errors';
import { componentSpec } from './testing';
import { TypeormRegistry } from './typeorm-registry';

const TABLES = ['component_cmd', 'component_env', 'component_ports', 'component_volumes', 'components', 'events', 'routes', 'services'];
/** Tables that hold history and outlive the services they describe (no foreign keys). */
const HISTORY_TABLES = ['releases', 'backup_runs', 'backup_intents', 'job_runs', 'node_settings'];

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function count(file: string, sql: string, ...params: unknown[]): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    db.close();
  }
}

describe(TypeormRegistry.name, () => {
  let dir: string;
  let file: string;
  const opened: TypeormRegistry[] = [];

  async function open(logger?: (msg: string) => void): Promise<TypeormRegistry> {
    const registry = await TypeormRegistry.open({ path: file, logger });
    opened.push(registry);
    return registry;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-registry-'));
    file = path.join(dir, 'nested', 'state', 'registry.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((registry) => registry.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('open', () => {
    it('should create the parent directories and a 0600 database with its WAL files', async () => {
      const sut = await open();
      await sut.saveService({ name: 'notes', active: true, components: [] });

      expect(mode(file)).toBe(0o600);
      expect(mode(`${file}-wal`)).toBe(0o600);
      expect(mode(`${file}-shm`)).toBe(0o600);
      expect(mode(path.dirname(file))).toBe(0o700);
    });

    it('should run the migrations on an empty file and record them', async () => {
      const messages: string[] = [];

      await open((msg) => messages.push(msg));

      const db = new Database(file, { readonly: true });
      try {
        const tables = db
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
          .all()
          .map((row) => (row as { name: string }).name);
        expect(tables).toEqual([...TABLES, ...HISTORY_TABLES, 'migrations'].sort());
        expect(db.prepare('SELECT name FROM migrations ORDER BY id').all()).toEqual([{ name: 'InitialSchema1795478400000' }, { name: 'Releases1796169600000' }, { name: 'ReleasePulled1796774400000' }, { name: 'ServiceBackups1797379200000' }, { name: 'NodeSettings1797465600000' }, { name: 'JobRuns1797552000000' }]);
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'`).all();
        expect(indexes.map((row) => (row as { name: string }).name).sort()).toEqual([
          'IDX_events_component',
          'IDX_events_service',
          'IDX_events_time',
        ]);
        const componentFks = db.pragma('foreign_key_list(components)') as Array<{ table: string; on_delete: string }>;
        expect(componentFks).toEqual([expect.objectContaining({ table: 'services', on_delete: 'CASCADE' })]);
        for (const child of ['component_ports', 'component_volumes', 'component_cmd', 'component_env', 'routes']) {
          const fks = db.pragma(`foreign_key_list(${child})`) as Array<{ table: string; on_delete: string }>;
          expect(fks.every((fk) => fk.table === 'components' && fk.on_delete === 'CASCADE')).toBe(true);
          expect(fks).toHaveLength(2);
        }
        expect(db.pragma('foreign_key_list(events)')).toEqual([]);
      } finally {
        db.close();
      }
      expect(messages).toContain('registry: applied migration InitialSchema1795478400000');
    });

    it('should leave nothing for synchronize to do: the entities match the migrated schema', async () => {
      await (await open()).close();
      const dataSource = new DataSource({ type: 'better-sqlite3', database: file, entities: REGISTRY_ENTITIES });
      await dataSource.initialize();
      try {
        const pending = await dataSource.driver.createSchemaBuilder().log();

        expect(pending.upQueries.map((query) => query.query)).toEqual([]);
      } finally {
        await dataSource.destroy();
      }
    });

    it('should keep everything across a reopen without running migrations again', async () => {
      const first = await open();
      await first.saveService({
        name: 'notes',
        active: true,
        components: [{ spec: componentSpec('web', { env: ['A=1'], routes: [{ port: 443, mode: 'l4' }] }), desiredState: 'running' }],
      });
      await first.setRoutes({
        service: 'notes',
        component: 'web',
        routes: [{ name: '', port: 443, mode: 'l4', hostname: 'notes.example.test', hostPort: 23456 }],
      });
      await first.recordObserved({ service: 'notes', component: 'web', observedState: 'running', version: '1.0' });
      await first.addEvent({ service: 'notes', component: 'web', kind: 'deploy', message: 'ok' });
      const before = await first.getService('notes');
      const events = await first.listEvents({});
      await first.close();
      const messages: string[] = [];

      const sut = await open((msg) => messages.push(msg));

      expect(await sut.getService('notes')).toEqual(before);
      expect(await sut.listEvents({})).toEqual(events);
      expect(messages.filter((msg) => msg.includes('applied migration'))).toEqual([]);
      expect(count(file, 'SELECT COUNT(*) AS n FROM migrations')).toBe(6);
    });

    it('should upgrade a v1 database file in place: data kept, releases added', async () => {
      // A v1 registry: exactly the schema the v1 agent made (its one migration), with data in it.
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const v1 = new DataSource({ type: 'better-sqlite3', database: file, migrations: [InitialSchema1795478400000], migrationsTableName: 'migrations' });
      await v1.initialize();
      await v1.runMigrations();
      const spec = JSON.stringify(componentSpec('web', { routes: [{ port: 443, mode: 'l4' }] }));
      await v1.query(`INSERT INTO services VALUES ('notes', 1, '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z')`);
      await v1.query(
        `INSERT INTO components VALUES ('notes', 'web', 'localhost/mcp-test/web:1.0', NULL, NULL, NULL, 'running', 'running', '1.0', 'notes-web', 'abc', 'hash1', ?, '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z')`,
        [spec],
      );
      await v1.query(`INSERT INTO routes VALUES ('notes', 'web', 0, '', 443, 'l4', 'notes.example.test', 23456)`);
      await v1.query(`INSERT INTO events (time, service, component, kind, message, from_state, to_state) VALUES ('2026-11-01T00:00:00.000Z', 'notes', 'web', 'deployed', 'v1 deploy', '', 'running')`);
      await v1.destroy();
      const messages: string[] = [];

      const sut = await open((msg) => messages.push(msg));

      expect(messages).toContain('registry: applied migration Releases1796169600000');
      expect(messages).not.toContain('registry: applied migration InitialSchema1795478400000');
      const service = await sut.getService('notes');
      expect(service?.components[0]).toMatchObject({ containerName: 'notes-web', deployedSpecHash: 'hash1', routes: [expect.objectContaining({ hostPort: 23456 })] });
      expect((await sut.listEvents({})).map((e) => e.message)).toEqual(['v1 deploy']);
      expect(await sut.listReleases({ service: 'notes' })).toEqual([]);
      expect(await sut.nextReleaseNumber('notes')).toBe(1);
      await sut.addRelease({ service: 'notes', number: 1, component: 'web', spec: componentSpec('web'), image: 'localhost/mcp-test/web:1.0', digest: 'sha256:1', deployedBy: 'admin', outcome: 'succeeded', rollbackOf: 0, message: '' });
      expect(await sut.nextReleaseNumber('notes')).toBe(2);
    });

    it('should add releases.pulled to a registry that has releases: old rows count as not pulled (never pruned)', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const v2 = new DataSource({ type: 'better-sqlite3', database: file, migrations: [InitialSchema1795478400000, Releases1796169600000], migrationsTableName: 'migrations' });
      await v2.initialize();
      await v2.runMigrations();
      await v2.query(
        `INSERT INTO releases VALUES ('notes', 1, 'web', ?, 'mcr.example.net/web:1.0', 'sha256:1', '2026-11-01T00:00:00.000Z', 'admin', 'succeeded', 0, '')`,
        [JSON.stringify(componentSpec('web'))],
      );
      await v2.destroy();
      const messages: string[] = [];

      const sut = await open((msg) => messages.push(msg));

      expect(messages).toEqual(expect.arrayContaining(['registry: applied migration ReleasePulled1796774400000']));
      expect(messages).not.toContain('registry: applied migration Releases1796169600000');
      const [old] = await sut.listReleases({ service: 'notes' });
      expect(old).toMatchObject({ number: 1, digest: 'sha256:1' });
      expect(old.pulled).toBeUndefined();
      await sut.addRelease({ service: 'notes', number: 2, component: 'web', spec: componentSpec('web'), image: 'mcr.example.net/web:2.0', digest: 'sha256:2', deployedBy: 'admin', outcome: 'succeeded', rollbackOf: 0, message: '', pulled: true });
      expect((await sut.listReleases({ service: 'notes' })).map((r) => [r.number, r.pulled === true])).toEqual([[2, true], [1, false]]);
    });
  });

  describe('saveService', () => {
    it('should store a component with 50 000 env entries (more than one INSERT can bind)', async () => {
      const sut = await open();
      const env = Array.from({ length: 50_000 }, (_, i) => `K${i}=v`);

      await sut.saveService({ name: 'big', active: true, components: [{ spec: componentSpec('big', { env }), desiredState: 'running' }] });

      expect((await sut.getService('big'))!.components[0].spec.env).toEqual(env);
    });

    const spec: ComponentSpec = componentSpec('web', {
      ports: ['8080:80', '9090:90'],
      volumes: ['/a:/a'],
      cmd: ['httpd', '-f'],
      env: ['Z=1', 'A=2'],
    });

    it('should keep the ordered spec lists in their own tables, replaced on update', async () => {
      const sut = await open();
      await sut.saveService({ name: 'notes', active: true, components: [{ spec, desiredState: 'running' }] });

      await sut.saveService({
        name: 'notes',
        active: true,
        components: [{ spec: { ...spec, env: ['B=3'], cmd: [] }, desiredState: 'running' }],
      });

      const db = new Database(file, { readonly: true });
      try {
        const list = (table: string) =>
          db
            .prepare(`SELECT value FROM ${table} WHERE service = 'notes' AND component = 'web' ORDER BY position`)
            .all()
            .map((row) => (row as { value: string }).value);
        expect(list('component_ports')).toEqual(['8080:80', '9090:90']);
        expect(list('component_volumes')).toEqual(['/a:/a']);
        expect(list('component_cmd')).toEqual([]);
        expect(list('component_env')).toEqual(['B=3']);
      } finally {
        db.close();
      }
    });

    it('should roll back every row when a multi-row write fails half-way', async () => {
      const sut = await open();
      const broken = { ...componentSpec('db'), env: null } as unknown as ComponentSpec;

      const save = sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec, desiredState: 'running' },
          { spec: broken, desiredState: 'running' },
        ],
      });

      await expect(save).rejects.toThrow(TypeError);
      expect(await sut.getService('notes')).toBeNull();
      for (const table of ['services', 'components', 'component_ports', 'component_env']) {
        expect(count(file, `SELECT COUNT(*) AS n FROM ${table}`)).toBe(0);
      }
    });
  });

  describe('deleteService', () => {
    it('should cascade to components, routes and every child table, and keep the events', async () => {
      const sut = await open();
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web', { ports: ['1:1'], volumes: ['/a:/a'], cmd: ['x'], env: ['A=1'] }), desiredState: 'running' },
        ],
      });
      await sut.saveService({ name: 'other', active: true, components: [{ spec: componentSpec('web', { env: ['B=1'] }), desiredState: 'running' }] });
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [{ name: '', port: 443, mode: 'l4', hostname: 'h', hostPort: 20000 }] });
      await sut.addEvent({ service: 'notes', component: 'web', kind: 'deploy', message: 'ok' });

      await sut.deleteService('notes');

      for (const table of TABLES.filter((t) => t !== 'events')) {
        expect([table, count(file, `SELECT COUNT(*) AS n FROM ${table} WHERE ${table === 'services' ? 'name' : 'service'} = 'notes'`)]).toEqual([table, 0]);
      }
      expect(count(file, `SELECT COUNT(*) AS n FROM component_env WHERE service = 'other'`)).toBe(1);
      expect(count(file, `SELECT COUNT(*) AS n FROM events WHERE service = 'notes'`)).toBe(1);
    });
  });

  describe('setRoutes', () => {
    it('should have SQLite itself refuse a second route on the same host port', async () => {
      await (await open()).close();
      const db = new Database(file);
      try {
        db.pragma('foreign_keys = OFF');
        const insert = db.prepare(
          `INSERT INTO routes (service, component, position, name, port, mode, hostname, host_port) VALUES (?, ?, 0, '', 443, 'l4', 'h', ?)`,
        );
        insert.run('a', 'x', null);
        insert.run('b', 'x', null);
        insert.run('c', 'x', 20000);

        expect(() => insert.run('d', 'x', 20000)).toThrow(/UNIQUE constraint failed: routes.host_port/);
      } finally {
        db.close();
      }
    });

    it('should refuse a host port that another registry instance holds', async () => {
      const a = await open();
      const b = await open();
      await a.saveService({ name: 'one', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      await b.saveService({ name: 'two', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      await a.setRoutes({ service: 'one', component: 'web', routes: [{ name: '', port: 443, mode: 'l4', hostname: 'h', hostPort: 20000 }] });

      const conflict = b.setRoutes({ service: 'two', component: 'web', routes: [{ name: '', port: 443, mode: 'l4', hostname: 'h', hostPort: 20000 }] });

      await expect(conflict).rejects.toThrow(HostPortInUseError);
    });
  });

  describe('concurrency', () => {
    it('should lose nothing when many saveService calls run in parallel', async () => {
      const sut = await open();

      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          sut.saveService({ name: `svc-${i}`, active: i % 2 === 0, components: [{ spec: componentSpec('web', { env: [`I=${i}`] }), desiredState: 'running' }] }),
        ),
      );

      const services = await sut.listServices();
      expect(services).toHaveLength(100);
      expect(services.find((s) => s.name === 'svc-42')!.components[0]!.spec.env).toEqual(['I=42']);
    });

    it('should let two registries on one file write in parallel without SQLITE_BUSY or lost writes', async () => {
      const a = await open();
      const b = await open();
      await a.saveService({ name: 'shared', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });

      const writes = (sut: TypeormRegistry, tag: string) =>
        Array.from({ length: 60 }, async (_, i) => {
          await sut.saveService({ name: `${tag}-${i}`, active: true, components: [{ spec: componentSpec('c'), desiredState: 'running' }] });
          await sut.addEvent({ service: 'shared', component: 'web', kind: tag, message: `${i}` });
          await sut.recordObserved({ service: 'shared', component: 'web', observedState: 'running', version: `${tag}-${i}` });
        });
      await Promise.all([...writes(a, 'a'), ...writes(b, 'b')]);

      expect((await b.listServices()).map((s) => s.name)).toHaveLength(121);
      const events = await a.listEvents({ service: 'shared' });
      expect(events.filter((e) => e.kind === 'a')).toHaveLength(60);
      expect(events.filter((e) => e.kind === 'b')).toHaveLength(60);
      expect(new Set(events.map((e) => e.id)).size).toBe(120);
    });
  });

  describe('with another process writing', () => {
    it('should wait for its lock instead of failing, and lose no write on either side', async () => {
      const sut = await open();
      // A second process holding the write lock for a few ms per transaction, as raw SQL.
      const script = `
        const Database = require(process.argv[1]);
        const db = new Database(process.argv[2], { timeout: 5000 });
        const insert = db.prepare("INSERT INTO events (time, service, component, kind, message, from_state, to_state) VALUES (?, 'child', '', 'k', ?, '', '')");
        for (let i = 0; i < 80; i++) {
          db.exec('BEGIN IMMEDIATE');
          insert.run(new Date().toISOString(), String(i));
          const until = Date.now() + 3;
          while (Date.now() < until) {}
          db.exec('COMMIT');
        }
        db.close();`;
      const child = new Promise<void>((resolve, reject) => {
        execFile(process.execPath, ['-e', script, require.resolve('better-sqlite3'), file], (error) => (error ? reject(error) : resolve()));
      });

      const mine = (async () => {
        for (let i = 0; i < 80; i++) {
          await sut.saveService({ name: `svc-${i}`, active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
          await sut.addEvent({ service: 'parent', component: '', kind: 'k', message: `${i}` });
        }
      })();
      await Promise.all([child, mine]);

      expect(await sut.listServices()).toHaveLength(80);
      expect(await sut.listEvents({ service: 'child' })).toHaveLength(80);
      expect(await sut.listEvents({ service: 'parent' })).toHaveLength(80);
    });
  });

  describe('snapshot', () => {
    it('should write a verified 0600 copy while another registry keeps writing', async () => {
      const sut = await open();
      const writer = await open();
      await sut.saveService({ name: 'before', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      let writing = true;
      let written = 0;
      const load = (async () => {
        while (writing) {
          await writer.saveService({ name: `during-${written}`, active: true, components: [{ spec: componentSpec('c'), desiredState: 'running' }] });
          await writer.addEvent({ service: 'load', component: '', kind: 'k', message: `${written}` });
          written++;
        }
      })();
      const dest = path.join(dir, 'backups', 'copy.db');

      let result;
      try {
        await sut.saveService({ name: 'warmup', active: true, components: [] });
        result = await sut.snapshot({ path: dest });
      } finally {
        writing = false;
        await load;
      }

      expect(result).toEqual({ path: dest, bytes: fs.statSync(dest).size });
      expect(result.bytes).toBeGreaterThan(0);
      expect(mode(dest)).toBe(0o600);
      expect(fs.readdirSync(path.dirname(dest))).toEqual(['copy.db']);
      expect(written).toBeGreaterThan(0);
      const copy = new Database(dest, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(copy.prepare(`SELECT name FROM services WHERE name = 'before'`).all()).toEqual([{ name: 'before' }]);
        // One point in time: every copied service's event pair is either both in or both out.
        const services = (copy.prepare(`SELECT COUNT(*) AS n FROM services WHERE name LIKE 'during-%'`).get() as { n: number }).n;
        const events = (copy.prepare(`SELECT COUNT(*) AS n FROM events WHERE service = 'load'`).get() as { n: number }).n;
        expect(events === services || events === services - 1).toBe(true);
      } finally {
        copy.close();
      }
    });
  });

  describe('close', () => {
    it('should be idempotent and make later calls fail', async () => {
      const sut = await open();

      await sut.close();
      await sut.close();

      await expect(sut.listServices()).rejects.toThrow('TypeormRegistry is closed');
    });
  });
});
