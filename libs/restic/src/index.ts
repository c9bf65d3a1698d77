export * from './backup-repository';
export * from './restic-config';
export * from './restic.module';
