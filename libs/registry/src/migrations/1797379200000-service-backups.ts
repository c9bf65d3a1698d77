import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SPEC §14 service data backups: a service's `[backup]` policy (`services.backup_json`, NULL
 * when it has none), the history of its backup runs (`backup_runs`), and the one operation in
 * flight per service that a crash must finish or undo (`backup_intents`: containers paused or
 * stopped for a snapshot, a restore's step). Additive.
 */
export class ServiceBackups1797379200000 implements MigrationInterface {
  readonly name = 'ServiceBackups1797379200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "services" ADD COLUMN "backup_json" text`);
    await queryRunner.query(
      `CREATE TABLE "backup_runs" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "service" text NOT NULL, "started_at" text NOT NULL, "finished_at" text NOT NULL, "ok" integer NOT NULL, "snapshot_id" text NOT NULL, "files" integer NOT NULL, "bytes" integer NOT NULL, "duration_ms" integer NOT NULL, "paused_ms" integer NOT NULL, "message" text NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_backup_runs_service" ON "backup_runs" ("service", "id")`);
    await queryRunner.query(`CREATE TABLE "backup_intents" ("service" text PRIMARY KEY NOT NULL, "kind" text NOT NULL, "detail_json" text NOT NULL, "created_at" text NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "backup_intents"`);
    await queryRunner.query(`DROP INDEX "IDX_backup_runs_service"`);
    await queryRunner.query(`DROP TABLE "backup_runs"`);
    await queryRunner.query(`ALTER TABLE "services" DROP COLUMN "backup_json"`);
  }
}
