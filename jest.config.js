/**
 * One Jest run for everything CI runs: unit specs next to the code, service and end-to-end specs
 * under test/, all against a real PostgreSQL started once by the global set-up.
 */
const swc = [
  '@swc/jest',
  {
    swcrc: false,
    sourceMaps: 'inline',
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

// ESM-only packages used by tests are compiled to CommonJS like our own code.
const swcJs = [
  '@swc/jest',
  { swcrc: false, jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } },
];
const ESM_PACKAGES = [
  '@scure',
  '@noble',
  '@apidevtools',
  'glob',
  'path-scurry',
  'brace-expansion',
  'minimatch',
  'lru-cache',
  'balanced-match',
  'content-disposition',
];

// The @forecourt/* aliases, from tsconfig.json (the one place they are declared for tools).
const { compilerOptions } = require('./tsconfig.json');
const aliases = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '^.+\\.m?js$': swcJs },
  // Judged on the innermost node_modules segment, so nested copies of those packages count too.
  transformIgnorePatterns: [`/node_modules/(?!.*/node_modules/)(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper: aliases,
  rootDir: __dirname,
};

module.exports = {
  ...common,
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs,config}/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'service',
      testMatch: ['<rootDir>/test/service/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
    },
  ],
};
