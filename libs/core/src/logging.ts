import { LoggerModule } from 'nestjs-pino';
import { REQUEST_ID_HEADER } from './request-context';

/**
 * Paths pino removes before a line is written: credentials, tokens and the personal data fields
 * Forecourt handles. Censoring by path means a new log call cannot leak them by accident.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.mfaToken',
  '*.secret',
  '*.code',
  '*.recoveryCodes',
  '*.email',
  '*.phone',
  '*.nationalId',
  '*.driverLicense',
  '*.databaseUrl',
  '*.masterKey',
];

/** Structured JSON logs with the request id on every line of a request. */
export function loggingModule(level: string) {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: (req) => String(req.headers[REQUEST_ID_HEADER] ?? ''),
      // On the request's child logger, so every line logged while serving it carries the id.
      customProps: (req) => ({ requestId: req.id }),
      quietReqLogger: true,
      // Query strings may carry tokens (invitation links): log the path only.
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: true,
    },
  });
}
