/**
 * One jest run for the whole monorepo. Tests import workspace packages from their TypeScript
 * source (no build needed for unit/integration tests); e2e tests start the built services.
 */
const swc = [
  '@swc/jest',
  { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
];
const common = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@agent-forge/([a-z-]+)$': '<rootDir>/packages/$1/src', '^@agent-forge/([a-z-]+)/([a-z-]+)$': '<rootDir>/packages/$1/src/$2' },
  testEnvironment: 'node',
};
module.exports = {
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{packages,services,tools}/*/src/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.test.ts'], slowTestThreshold: 60 },
  ],
};
