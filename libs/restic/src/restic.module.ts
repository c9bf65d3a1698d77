import { type DynamicModule, Module } from '@nestjs/common';
import { BackupRepository } from './backup-repository';
import { ResticConfig, type ResticConfigData } from './restic-config';
import { ResticRepository } from './restic-repository';

/** Binds the BackupRepository port to restic. */
@Module({})
export class ResticModule {
  static forRoot(config: Omit<ResticConfigData, 'resticPath' | 'sshOptions'> & { resticPath?: string; sshOptions?: string[] }): DynamicModule {
    return {
      module: ResticModule,
      providers: [
        { provide: ResticConfig, useValue: new ResticConfig({ resticPath: 'restic', sshOptions: [], ...config }) },
        { provide: BackupRepository, useClass: ResticRepository },
      ],
      exports: [BackupRepository],
    };
  }
}
