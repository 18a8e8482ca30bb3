/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking happens once in `tsc --noEmit` (npm test); jest only transpiles, which is ~5x faster.
  // jose 6 ships ESM only, so it goes through the same transform.
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true, rootDir: '.', module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testTimeout: 60000,
  // jest's default on 2 cores is one worker; two overlap one file's waits (child processes, servers, timers)
  // with another's CPU work: 352 s -> 298 s for the whole suite on this machine (bench/RESULTS.md).
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
