import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `releases.pulled`: whether that deploy pulled its image, so `[agent] keep_releases` removes
 * only images MCP itself brought onto the node. Additive (existing rows: 0, never removed).
 */
export class ReleasePulled1796774400000 implements MigrationInterface {
  readonly name = 'ReleasePulled1796774400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "releases" ADD COLUMN "pulled" integer NOT NULL DEFAULT 0`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "releases" DROP COLUMN "pulled"`);
  }
}
