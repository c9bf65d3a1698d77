export * from './errors';
export * from './spec';
export * from './clock';
export * from './duration';
export * from './config-discovery';
export * from './toml-schema';
export * from './failpoints';
