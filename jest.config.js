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
  '^@mcp/(oci|acme|interop|metrics|restic)$': '<rootDir>/libs/$1/src/index.ts',
  '^@mcp/deployer$': '<rootDir>/libs/deployer/src/index.ts',
  '^@mcp/proto$': '<rootDir>/proto/index.ts',
  '^@mcp/(runtime|registry|alerts|restic)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
};
// MCP_TEST_GROUP=serial|concurrent selects one of the two groups scripts/test-all.sh runs at
// once (test/suite-groups.js); unset, every suite is there.
const { SERIAL_PATHS, pathPattern } = require('./test/suite-groups');
const group = process.env.MCP_TEST_GROUP || undefined;
if (group !== undefined && group !== 'serial' && group !== 'concurrent') {
  throw new Error(`MCP_TEST_GROUP must be serial or concurrent, not ${JSON.stringify(group)}`);
}
const e2eMatch = ['<rootDir>/test/e2e/**/*.e2e-spec.ts', '<rootDir>/test/bench/**/*.e2e-spec.ts'];
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
  // e2e suites first (test/sequencer.js): they are the long ones.
  testSequencer: '<rootDir>/test/sequencer.js',
  projects: [
    ...(group === 'serial'
      ? []
      : [
          {
            ...common,
            displayName: 'unit',
            testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
            testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
          },
        ]),
    {
      ...common,
      displayName: 'e2e',
      testMatch: group === 'serial' ? SERIAL_PATHS.map((file) => `<rootDir>/${file}`) : e2eMatch,
      testPathIgnorePatterns: ['/node_modules/', ...(group === 'concurrent' ? SERIAL_PATHS.map(pathPattern) : [])],
    },
  ],
};
