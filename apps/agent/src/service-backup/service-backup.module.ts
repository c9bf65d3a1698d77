import { Module } from '@nestjs/common';
import { BackupScheduleService } from './backup-schedule.service';
import { ServiceBackupController } from './service-backup.controller';
import { ServiceBackupService } from './service-backup.service';

/** Backups and restores of service data with restic (SPEC §14), on demand and on each service's `[backup] schedule`. Not the registry's own `snapshot`/`restore` verbs. */
@Module({
  controllers: [ServiceBackupController],
  providers: [ServiceBackupService, BackupScheduleService],
  exports: [ServiceBackupService],
})
export class ServiceBackupModule {}
