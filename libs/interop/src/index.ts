export { importCompose } from './compose-import';
export type { ComposeImport, ComposeImportInput, ImportNote } from './compose-import';
export { exportCompose } from './compose-export';
export { exportKube, kubeMemory } from './kube-export';
export type { ExportInput } from './export-common';
export { interpolate, parseEnvFile, shellWords } from './interpolate';
