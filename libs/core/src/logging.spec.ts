import pino from 'pino';
import { Writable } from 'node:stream';
import { REDACTED_PATHS } from './logging';

function capture(): { logger: pino.Logger; lines: () => string } {
  let output = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString('utf8');
      done();
    },
  });
  const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
  return { logger, lines: () => output };
}

describe('log redaction', () => {
  it('removes credentials and personal data wherever they are nested one level down', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        user: { email: 'jane@example.test', password: 'Tr0ub4dor&3', name: 'Jane' },
        customer: { phone: '+15551234567', nationalId: 'AB123456C', driverLicense: 'D1234567' },
        body: { token: 'inv-token', mfaToken: 'mfa-token', code: '123456' },
      },
      'signed in',
    );
    const written = lines();
    for (const secret of [
      'jane@example.test',
      'Tr0ub4dor&3',
      '+15551234567',
      'AB123456C',
      'D1234567',
      'inv-token',
      'mfa-token',
      '123456',
    ]) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain('"name":"Jane"');
    expect(written).toContain('[redacted]');
  });

  it('removes the authorization and cookie headers of a request', () => {
    const { logger, lines } = capture();
    logger.info({
      req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=xyz', accept: 'application/json' } },
    });
    expect(lines()).not.toMatch(/abc\.def|sid=xyz/);
    expect(lines()).toContain('application/json');
  });
});
