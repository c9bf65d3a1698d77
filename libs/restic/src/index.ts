export * from './backup-repository';
export * from './restic-config';
export * from './restic.module';
export { SSH_CONNECT_TIMEOUT_S, sftpCommand } from './restic-repository';
