import { isDatabaseUnavailable } from './database-unavailable';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('a database that cannot be reached', () => {
  it('is told by socket codes, connection SQLSTATEs and the driver’s own words', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
      withCode('database "forecourt" is not currently accepting connections', '55000'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isDatabaseUnavailable(error)).toBe(true);
    }
  });

  it('is not a query the database refused, nor anything else', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('permission denied for table audit_events', '42501'),
      withCode('canceling statement due to statement timeout', '57014'),
      withCode('currval of sequence "s" is not yet defined in this session', '55000'),
      new Error('something else went wrong'),
      'Connection terminated',
    ]) {
      expect(isDatabaseUnavailable(error)).toBe(false);
    }
  });
});
