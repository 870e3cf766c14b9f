// npm test on an older Node.js would fail in many places for one reason: say it once, first.
const requiredMajor = Number(/\d+/.exec(require('./package.json').engines.node)[0]);
if (Number(process.versions.node.split('.')[0]) < requiredMajor) {
  console.error(
    `npm test needs Node.js ${requiredMajor} or newer, and this is Node.js ${process.version}: ` +
      `install Node.js ${requiredMajor} LTS (nvm install reads .nvmrc), or run bash .ci/node.sh npm test, which fetches it`,
  );
  process.exit(1);
}

// Jest 30 runs Nest 12 (ESM-only) in CommonJS mode: every file,
// node_modules included, goes through @swc/jest (see ../shared/stack-notes.md).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
const swcJs = ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023' }, module: { type: 'commonjs' } }];

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '^.+\\.m?js$': swcJs },
  transformIgnorePatterns: [],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
      globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
    },
  ],
  // A global option: Jest ignores it inside `projects`.
  testTimeout: 30000,
};
