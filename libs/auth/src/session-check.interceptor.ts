import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { catchError, mergeMap, type Observable } from 'rxjs';
import { TenantTransaction } from '@forecourt/database';

/**
 * The other half of a deferred session check (`Sessions.authenticateDeferred`): a request whose
 * work never touched a table — or failed before it did (validation, a refused input) — proves its
 * session before it answers, so an ended session gets 401, never another answer.
 */
@Injectable()
export class SessionCheckInterceptor implements NestInterceptor {
  constructor(private readonly transactions: TenantTransaction) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.transactions.sessionCheckPending()) return next.handle();
    return next.handle().pipe(
      mergeMap(async (answer: unknown) => {
        await this.transactions.proveSession();
        return answer;
      }),
      catchError(async (error: unknown) => {
        await this.transactions.proveSession();
        throw error;
      }),
    );
  }
}
