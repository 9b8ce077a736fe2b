export { type AuthenticatedRequest, Ctx, PRINCIPAL } from './ctx.decorator';
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
} from './request-context';
export { ValidationFailedException, toProblem } from './to-problem';
export { createValidationPipe } from './validation';
