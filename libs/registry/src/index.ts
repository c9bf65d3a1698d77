export * from './service-registry';
export { TypeormRegistry, type TypeormRegistryOptions } from './typeorm-registry';
export { RegistryModule, type RegistryModuleOptions, type RegistryModuleAsyncOptions } from './registry.module';
export { HostPortInUseError, RegistryCorruptError } from './registry-errors';
export {
  DATABASE_FILE_MODE,
  pruneSnapshots,
  restoreDatabase,
  snapshotDatabase,
  snapshotFileName,
  verifyDatabaseFile,
} from './registry-snapshot';
export { checkEventsAfterQuery, checkListEventsQuery, checkNewEvent, EventListeners, checkPruneEventsInput, checkRoutes, checkSaveServiceInput } from './registry-input';
