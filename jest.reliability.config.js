/**
 * The reliability suite (issue 12): `npm run test:reliability`, or `RELIABILITY_MODE=short npm run
 * test:reliability` (what .ci/run runs). Its own config, so `npm test` stays as it is: the same
 * transforms, aliases and global set-up as jest.config.js, one file at a time (each boots an API
 * and pushes it hard; two at once would only fight over the two cores).
 */
const { projects: _projects, ...shared } = require('./jest.config.js');

module.exports = {
  ...shared,
  displayName: 'reliability',
  testMatch: ['<rootDir>/test/reliability/**/*.rel-spec.ts'],
  maxWorkers: 1,
  testTimeout: 3_600_000,
};
