import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/*
 * TypeORM entities for the SQLite registry. They never leave this library: TypeormRegistry
 * maps them to the plain records of the ServiceRegistry port. Times are ISO-8601 UTC strings
 * (`Date#toISOString`), which sort and compare correctly as text and stay readable in the
 * sqlite3 shell. The schema itself is created by migrations, never by `synchronize`; a test
 * checks that these decorators and the migrations agree.
 */

@Entity({ name: 'services' })
export class ServiceEntity {
  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ type: 'boolean' })
  active!: boolean;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;

  @Column({ name: 'updated_at', type: 'text' })
  updatedAt!: string;

  /** The service's `[backup]` policy as JSON (SPEC §14); NULL without one. */
  @Column({ name: 'backup_json', type: 'text', nullable: true })
  backupJson!: string | null;

  /** The service's `[[jobs]]` as JSON (SPEC §12); NULL without any. */
  @Column({ name: 'jobs_json', type: 'text', nullable: true })
  jobsJson!: string | null;
}

@Entity({ name: 'components' })
export class ComponentEntity {
  @PrimaryColumn({ type: 'text' })
  service!: string;

  @PrimaryColumn({ type: 'text' })
  name!: string;

  @ManyToOne(() => ServiceEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'service', referencedColumnName: 'name' })
  serviceRef?: ServiceEntity;

  @Column({ type: 'text' })
  image!: string;

  @Column({ type: 'text', nullable: true })
  network!: string | null;

  @Column({ name: 'user', type: 'text', nullable: true })
  user!: string | null;

  @Column({ type: 'text', nullable: true })
  restart!: string | null;

  @Column({ name: 'desired_state', type: 'text' })
  desiredState!: string;

  @Column({ name: 'observed_state', type: 'text' })
  observedState!: string;

  @Column({ type: 'text' })
  version!: string;

  @Column({ name: 'container_name', type: 'text' })
  containerName!: string;

  @Column({ name: 'container_id', type: 'text' })
  containerId!: string;

  @Column({ name: 'deployed_spec_hash', type: 'text' })
  deployedSpecHash!: string;

  /** The whole ComponentSpec as the operator wrote it; the source of `ComponentRecord.spec`. */
  @Column({ name: 'spec_json', type: 'text' })
  specJson!: string;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;

  @Column({ name: 'updated_at', type: 'text' })
  updatedAt!: string;
}

/**
 * One ordered string of a component's spec list (ports, volumes, cmd, env). These tables are
 * queryable projections of `spec_json`, rewritten in the same transaction.
 */
abstract class ComponentListItem {
  @PrimaryColumn({ type: 'text' })
  service!: string;

  @PrimaryColumn({ type: 'text' })
  component!: string;

  @PrimaryColumn({ type: 'integer' })
  position!: number;

  @Column({ type: 'text' })
  value!: string;
}

const componentFk = [
  { name: 'service', referencedColumnName: 'service' },
  { name: 'component', referencedColumnName: 'name' },
];

@Entity({ name: 'component_ports' })
export class ComponentPortEntity extends ComponentListItem {
  @ManyToOne(() => ComponentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn(componentFk)
  componentRef?: ComponentEntity;
}

@Entity({ name: 'component_volumes' })
export class ComponentVolumeEntity extends ComponentListItem {
  @ManyToOne(() => ComponentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn(componentFk)
  componentRef?: ComponentEntity;
}

@Entity({ name: 'component_cmd' })
export class ComponentCmdEntity extends ComponentListItem {
  @ManyToOne(() => ComponentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn(componentFk)
  componentRef?: ComponentEntity;
}

@Entity({ name: 'component_env' })
export class ComponentEnvEntity extends ComponentListItem {
  @ManyToOne(() => ComponentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn(componentFk)
  componentRef?: ComponentEntity;
}

/** A deployed route with its allocated host port. A host port belongs to at most one route. */
@Entity({ name: 'routes' })
@Index('IDX_routes_host_port', ['hostPort'], { unique: true, where: 'host_port IS NOT NULL' })
export class RouteEntity {
  @PrimaryColumn({ type: 'text' })
  service!: string;

  @PrimaryColumn({ type: 'text' })
  component!: string;

  @PrimaryColumn({ type: 'integer' })
  position!: number;

  @ManyToOne(() => ComponentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn(componentFk)
  componentRef?: ComponentEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'integer' })
  port!: number;

  @Column({ type: 'text' })
  mode!: string;

  @Column({ type: 'text' })
  hostname!: string;

  @Column({ name: 'host_port', type: 'integer', nullable: true })
  hostPort!: number | null;
}

/** History: no foreign key, so deleting a service keeps its events. */
@Entity({ name: 'events' })
@Index('IDX_events_service', ['service'])
@Index('IDX_events_component', ['service', 'component'])
@Index('IDX_events_time', ['time'])
export class EventEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'text' })
  time!: string;

  @Column({ type: 'text' })
  service!: string;

  @Column({ type: 'text' })
  component!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'from_state', type: 'text' })
  fromState!: string;

  @Column({ name: 'to_state', type: 'text' })
  toState!: string;
}


/**
 * One component's entry of a release (SPEC §8): releases number per service; a deploy that
 * changes several components records one release with a row each. History: no foreign key.
 */
@Entity({ name: 'releases' })
@Index('IDX_releases_service_component', ['service', 'component'])
export class ReleaseEntity {
  @PrimaryColumn({ type: 'text' })
  service!: string;

  @PrimaryColumn({ type: 'integer' })
  number!: number;

  @PrimaryColumn({ type: 'text' })
  component!: string;

  @Column({ name: 'spec_json', type: 'text' })
  specJson!: string;

  @Column({ type: 'text' })
  image!: string;

  @Column({ type: 'text' })
  digest!: string;

  @Column({ name: 'deployed_at', type: 'text' })
  deployedAt!: string;

  @Column({ name: 'deployed_by', type: 'text' })
  deployedBy!: string;

  @Column({ type: 'text' })
  outcome!: string;

  @Column({ name: 'rollback_of', type: 'integer' })
  rollbackOf!: number;

  @Column({ type: 'text' })
  message!: string;

  /** 1 when this deploy pulled the image (keep_releases may remove it later). */
  @Column({ type: 'integer', default: 0 })
  pulled!: number;
}

/**
 * Settings of the node itself (not of a service), one row per key. Today only `cordon`
 * (SPEC §15): present while the node is cordoned; the value is who cordoned it.
 */
@Entity({ name: 'node_settings' })
export class NodeSettingEntity {
  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'updated_at', type: 'text' })
  updatedAt!: string;
}

/** One backup of a service's data (SPEC §14), succeeded or failed. */
@Entity({ name: 'backup_runs' })
@Index('IDX_backup_runs_service', ['service', 'id'])
export class BackupRunEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'text' })
  service!: string;

  @Column({ name: 'started_at', type: 'text' })
  startedAt!: string;

  @Column({ name: 'finished_at', type: 'text' })
  finishedAt!: string;

  @Column({ type: 'integer' })
  ok!: number;

  @Column({ name: 'snapshot_id', type: 'text' })
  snapshotId!: string;

  @Column({ type: 'integer' })
  files!: number;

  @Column({ type: 'integer' })
  bytes!: number;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ name: 'paused_ms', type: 'integer' })
  pausedMs!: number;

  @Column({ type: 'text' })
  message!: string;
}

/** The backup operation in flight for a service, written before it changes anything. */
@Entity({ name: 'backup_intents' })
export class BackupIntentEntity {
  @PrimaryColumn({ type: 'text' })
  service!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ name: 'detail_json', type: 'text' })
  detailJson!: string;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;
}

/** One run of a service's job (SPEC §12). */
@Entity({ name: 'job_runs' })
@Index('IDX_job_runs_job', ['service', 'job', 'id'])
export class JobRunEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'text' })
  service!: string;

  @Column({ type: 'text' })
  job!: string;

  @Column({ type: 'text' })
  trigger!: string;

  @Column({ name: 'started_at', type: 'text' })
  startedAt!: string;

  @Column({ name: 'finished_at', type: 'text', nullable: true })
  finishedAt!: string | null;

  @Column({ type: 'text' })
  result!: string;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ type: 'text' })
  container!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'text' })
  output!: string;
}

export const REGISTRY_ENTITIES = [
  ServiceEntity,
  ComponentEntity,
  ComponentPortEntity,
  ComponentVolumeEntity,
  ComponentCmdEntity,
  ComponentEnvEntity,
  RouteEntity,
  EventEntity,
  ReleaseEntity,
  NodeSettingEntity,
  BackupRunEntity,
  BackupIntentEntity,
  JobRunEntity,
];
