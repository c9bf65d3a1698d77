import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SPEC §12 jobs: a service's `[[jobs]]` (`services.jobs_json`, NULL when it has none) and the
 * history of their runs (`job_runs`: the newest 50 per job; a run still `running` when the
 * agent starts was interrupted by its death). Additive.
 */
export class JobRuns1797552000000 implements MigrationInterface {
  readonly name = 'JobRuns1797552000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "services" ADD COLUMN "jobs_json" text`);
    await queryRunner.query(
      `CREATE TABLE "job_runs" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "service" text NOT NULL, "job" text NOT NULL, "trigger" text NOT NULL, "started_at" text NOT NULL, "finished_at" text, "result" text NOT NULL, "exit_code" integer, "duration_ms" integer NOT NULL, "container" text NOT NULL, "message" text NOT NULL, "output" text NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_job_runs_job" ON "job_runs" ("service", "job", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_job_runs_job"`);
    await queryRunner.query(`DROP TABLE "job_runs"`);
    await queryRunner.query(`ALTER TABLE "services" DROP COLUMN "jobs_json"`);
  }
}
