import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SPEC §8 releases: one row per (service, release number, component) with the full spec, the
 * image and its digest, who deployed it and the outcome. Additive, so a v1 registry upgrades
 * in place at the agent's next start.
 */
export class Releases1796169600000 implements MigrationInterface {
  readonly name = 'Releases1796169600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "releases" ("service" text NOT NULL, "number" integer NOT NULL, "component" text NOT NULL, "spec_json" text NOT NULL, "image" text NOT NULL, "digest" text NOT NULL, "deployed_at" text NOT NULL, "deployed_by" text NOT NULL, "outcome" text NOT NULL, "rollback_of" integer NOT NULL, "message" text NOT NULL, PRIMARY KEY ("service", "number", "component"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_releases_service_component" ON "releases" ("service", "component")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_releases_service_component"`);
    await queryRunner.query(`DROP TABLE "releases"`);
  }
}
