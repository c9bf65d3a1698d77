export * from './service-registry';
export type { TypeormRegistryOptions } from './typeorm-registry';
export { RegistryModule, type RegistryModuleOptions } from './registry.module';
export { HostPortInUseError, RegistryCorruptError } from './registry-errors';
export {
  DATABASE_FILE_MODE,
  pruneSnapshots,
  restoreDatabase,
  snapshotDatabase,
  snapshotFileName,
  SNAPSHOT_NAME,
  verifyDatabaseFile,
} from './registry-snapshot';
export { checkEventsAfterQuery, checkListEventsQuery, checkNewEvent, EventListeners, checkPruneEventsInput, checkRoutes, checkSaveServiceInput } from './registry-input';
