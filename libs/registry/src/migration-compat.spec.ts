import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { REGISTRY_MIGRATIONS } from './migrations';
import { TypeormRegistry } from './typeorm-registry';

/**
 * ARCHITECTURE "Schema migrations": a migration stays backward-compatible for one release,
 * so that `mcp node upgrade --rollback` (or the launcher's automatic rollback, SPEC §16)
 * starts the previous agent on a database the new one has already migrated. Additive only:
 * new tables, new indexes, new columns that are nullable or have a default; never a drop,
 * a rename or a NOT NULL column without a default (the previous release's INSERTs would fail).
 */
const ALLOWED = [
  /^CREATE TABLE\b/i,
  /^CREATE (UNIQUE )?INDEX\b/i,
  /^UPDATE\b/i, // a backfill of a new column
  /^ALTER TABLE "[^"]+" ADD COLUMN "[^"]+" [a-z]+( NOT NULL DEFAULT .+| DEFAULT .+)?$/i,
];

/** The statements a migration's up() issues, recorded instead of run. */
async function statementsOf(migration: MigrationInterface): Promise<string[]> {
  const statements: string[] = [];
  const runner = { query: async (sql: string) => void statements.push(sql.replace(/\s+/g, ' ').trim()) } as unknown as QueryRunner;
  await migration.up(runner);
  return statements;
}

/** What the next release might add: a column with a default and a table this release does not know. */
class NextRelease9999999999999 implements MigrationInterface {
  readonly name = 'NextRelease9999999999999';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "services" ADD COLUMN "i25_future" text NOT NULL DEFAULT ''`);
    await queryRunner.query(`CREATE TABLE "i25_future_things" ("id" integer PRIMARY KEY NOT NULL)`);
  }
  async down(): Promise<void> {}
}

describe('registry migrations stay backward-compatible for one release', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-migrations-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const later = REGISTRY_MIGRATIONS.slice(1).map((Migration) => [Migration.name, Migration] as const);
  it.each(later)('%s should only add (tables, indexes, defaulted or nullable columns)', async (_name, Migration) => {
    const statements = await statementsOf(new Migration());

    expect(statements.length).toBeGreaterThan(0);
    for (const sql of statements) expect({ sql, additive: ALLOWED.some((rule) => rule.test(sql)) }).toEqual({ sql, additive: true });
  });

  it('should refuse what would break the previous release (the rule itself)', async () => {
    for (const sql of [`ALTER TABLE "services" DROP COLUMN "spec_json"`, `ALTER TABLE "services" RENAME COLUMN "a" TO "b"`, `DROP TABLE "releases"`, `ALTER TABLE "services" ADD COLUMN "x" text NOT NULL`]) {
      expect(ALLOWED.some((rule) => rule.test(sql))).toBe(false);
    }
  });

  it("should let this release open, read and write a database the next release has migrated", async () => {
    const file = path.join(dir, 'mcp.db');
    const current = await TypeormRegistry.open({ path: file });
    await current.saveService({ name: 'web', active: true, components: [] });
    await current.close();
    const next = new DataSource({ type: 'better-sqlite3', database: file, migrations: [...REGISTRY_MIGRATIONS, NextRelease9999999999999], migrationsTableName: 'migrations' });
    await next.initialize();
    expect((await next.runMigrations({ transaction: 'none' })).map((m) => m.name)).toEqual(['NextRelease9999999999999']);
    await next.destroy();

    // The rollback: this release starts on that file.
    const rolledBack = await TypeormRegistry.open({ path: file });
    await rolledBack.saveService({ name: 'api', active: true, components: [] });

    expect((await rolledBack.listServices()).map((s) => s.name)).toContain('api');
    await rolledBack.close();
  });
});
