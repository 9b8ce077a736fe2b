import { assertNever, DomainError } from './domain-error';

export enum SessionProofErrorCode {
  /** The session was revoked, expired, went idle, or its user was deactivated. */
  Ended = 'auth.unauthenticated',
  /** The person's permissions changed after the API cached them for this session. */
  Outdated = 'auth.session_outdated',
}

/**
 * A session check that the database made as part of a request's first statement failed (see
 * `TenantTransaction.deferSessionCheck`). `Outdated` never reaches a client while the request can
 * be served again from the start with the current permissions (`SessionCheckBeforeAnswer`).
 */
export class SessionProofError extends DomainError<SessionProofErrorCode> {
  constructor(code: SessionProofErrorCode) {
    super(
      code,
      code === SessionProofErrorCode.Ended
        ? 'Sign in first (the session has ended)'
        : 'Your permissions changed while this request ran; send it again',
    );
  }

  get status(): number {
    switch (this.code) {
      case SessionProofErrorCode.Ended:
        return 401;
      case SessionProofErrorCode.Outdated:
        return 409;
      default:
        return assertNever(this.code);
    }
  }
}
