export { type AccessDenial, AccessDenials } from './access-denials';
export { Clock, ClockModule, SettableClock, SystemClock } from './clock';
export { BackupStatus, type BackupSummary } from './backup-status';
export {
  ANSWER_SHAPE,
  type AuthenticatedRequest,
  contextOf,
  Ctx,
  PRINCIPAL,
  TENANT_ACCESS,
} from './ctx.decorator';
export { DomainError, assertNever } from './domain-error';
export { configureHttpPipeline, fastifyOptions } from './http-pipeline';
export { isUuid, newId } from './ids';
export { loggingModule, REDACTED_PATHS } from './logging';
export { type FieldError, PROBLEM_CONTENT_TYPE, type Problem, problem } from './problem';
export { ProblemFilter } from './problem.filter';
export {
  type PlatformRole,
  type Principal,
  REQUEST_ID_HEADER,
  type RequestContext,
  requestIdFrom,
  type TenantAccess,
} from './request-context';
export { SessionProofError, SessionProofErrorCode } from './session-proof-error';
export { ValidationFailedException, toProblem } from './to-problem';
export { createValidationPipe } from './validation';
export { RouteIds } from './route-ids';
export { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, type Page, pageOf } from './pagination';
export { RequestError, RequestErrorCode } from './request-error';
export { scheduleUtcCron, unscheduleCron } from './utc-cron';
