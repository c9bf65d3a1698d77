import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `node_settings`: the node's own settings by key — the cordon of SPEC §15. Additive. */
export class NodeSettings1797465600000 implements MigrationInterface {
  readonly name = 'NodeSettings1797465600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "node_settings" ("key" text PRIMARY KEY NOT NULL, "value" text NOT NULL, "updated_at" text NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "node_settings"`);
  }
}
