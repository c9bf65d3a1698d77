import { Module, type DynamicModule } from '@nestjs/common';
import { BackupScheduleService } from './backup-schedule.service';
import { ServiceBackupController } from './service-backup.controller';
import { ServiceBackupService } from './service-backup.service';
import type { Platform } from '../platform.module';

/** Backups and restores of service data with restic (SPEC §14), on demand and on each service's `[backup] schedule`. Not the registry's own `snapshot`/`restore` verbs. */
@Module({
  controllers: [ServiceBackupController],
  providers: [ServiceBackupService, BackupScheduleService],
  exports: [ServiceBackupService],
})
export class ServiceBackupModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: ServiceBackupModule, imports: [platform.core, platform.registry, platform.runtime, platform.metrics, platform.alerts, platform.restic, platform.deployer] };
  }
}
