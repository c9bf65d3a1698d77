// One `npm test` runs every suite. swc transpiles (fast, keeps decorator metadata);
// `npm run typecheck` does the type checking as its own step.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = {
  '^@mcp/(registry|runtime|servicedef|mcproxy|auth|common|alerts)$': '<rootDir>/libs/$1/src/index.ts',
  '^@mcp/(oci|acme|interop|metrics)$': '<rootDir>/libs/$1/src/index.ts',
  '^@mcp/deployer$': '<rootDir>/libs/deployer/src/index.ts',
  '^@mcp/proto$': '<rootDir>/proto/index.ts',
  '^@mcp/(runtime|registry|alerts)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
};
const common = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  // A global option (Jest ignores it inside a project): e2e steps start agents and containers.
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts', '<rootDir>/test/bench/**/*.e2e-spec.ts'],
    },
  ],
};
