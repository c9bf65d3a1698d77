export * from './errors';
export * from './spec';
export * from './clock';
export * from './duration';
export * from './config-discovery';
export * from './toml-validation';
export * from './failpoints';
export * from './agent-bundle';
