import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registry's first schema. Foreign keys cascade from components and their child rows up
 * to services; events have none, so history outlives the services it describes. Never edit a
 * released migration: add a new one and list it in REGISTRY_MIGRATIONS.
 */
export class InitialSchema1795478400000 implements MigrationInterface {
  readonly name = 'InitialSchema1795478400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "services" ("name" text PRIMARY KEY NOT NULL, "active" boolean NOT NULL, "created_at" text NOT NULL, "updated_at" text NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE TABLE "components" ("service" text NOT NULL, "name" text NOT NULL, "image" text NOT NULL, "network" text, "user" text, "restart" text, "desired_state" text NOT NULL, "observed_state" text NOT NULL, "version" text NOT NULL, "container_name" text NOT NULL, "container_id" text NOT NULL, "deployed_spec_hash" text NOT NULL, "spec_json" text NOT NULL, "created_at" text NOT NULL, "updated_at" text NOT NULL, CONSTRAINT "FK_f97915b5763dd7fbd1f480679f2" FOREIGN KEY ("service") REFERENCES "services" ("name") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("service", "name"))`,
    );
    const lists: Array<[table: string, fk: string]> = [
      ['component_ports', 'FK_6dbf9161994631a4b20c9d6a852'],
      ['component_volumes', 'FK_2eb4ba5a2daf429bea56afe86ea'],
      ['component_cmd', 'FK_a67a72a9ef515e083140ec95501'],
      ['component_env', 'FK_93ec6dff27f31fafd4aa3a92924'],
    ];
    for (const [table, fk] of lists) {
      await queryRunner.query(
        `CREATE TABLE "${table}" ("service" text NOT NULL, "component" text NOT NULL, "position" integer NOT NULL, "value" text NOT NULL, CONSTRAINT "${fk}" FOREIGN KEY ("service", "component") REFERENCES "components" ("service", "name") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("service", "component", "position"))`,
      );
    }
    await queryRunner.query(
      `CREATE TABLE "routes" ("service" text NOT NULL, "component" text NOT NULL, "position" integer NOT NULL, "name" text NOT NULL, "port" integer NOT NULL, "mode" text NOT NULL, "hostname" text NOT NULL, "host_port" integer, CONSTRAINT "FK_f1fe64c08c3f1f1421176bbc2ca" FOREIGN KEY ("service", "component") REFERENCES "components" ("service", "name") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("service", "component", "position"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_routes_host_port" ON "routes" ("host_port") WHERE host_port IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "events" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "time" text NOT NULL, "service" text NOT NULL, "component" text NOT NULL, "kind" text NOT NULL, "message" text NOT NULL, "from_state" text NOT NULL, "to_state" text NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_events_time" ON "events" ("time")`);
    await queryRunner.query(`CREATE INDEX "IDX_events_component" ON "events" ("service", "component")`);
    await queryRunner.query(`CREATE INDEX "IDX_events_service" ON "events" ("service")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['events', 'routes', 'component_env', 'component_cmd', 'component_volumes', 'component_ports', 'components', 'services']) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
  }
}
