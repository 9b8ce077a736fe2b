import { assertNever, DomainError } from '@forecourt/core';

export enum SamlErrorCode {
  InvalidConnection = 'sso.invalid_connection',
  NotConfigured = 'sso.not_configured',
  UnknownConnection = 'sso.unknown_connection',
  Rejected = 'sso.rejected',
  NotMapped = 'sso.not_mapped',
  AccountConflict = 'sso.account_conflict',
  SsoOnly = 'sso.sso_only',
}

/**
 * Why a sign-in was refused: a short fixed key (what the audit trail and the failure list keep)
 * and the sentence an admin can act on (the problem's detail). Neither ever holds a value from the
 * response.
 */
export const SSO_FAILURES = {
  missing_response: 'no SAMLResponse was posted',
  unreadable: 'not a SAML response this service can read',
  sha1: 'the response is signed with SHA-1, which this connection does not accept',
  name_id_markup: 'the NameID must be plain text (it contains a comment or markup)',
  assertion_count: 'the response must carry exactly one assertion',
  idp_initiated: 'an IdP-initiated response, which this connection does not accept',
  unknown_request: 'the response answers no sign-in request of this service (unknown or used InResponseTo)',
  signature:
    'the response is not signed by a certificate of this connection (unknown certificate, or not signed)',
  expired: 'the assertion has expired (NotOnOrAfter passed): check the IdP clock and the assertion lifetime',
  not_yet_valid: 'the assertion is not valid yet (NotBefore in the future): check the IdP clock',
  audience: 'wrong audience: the IdP must send this connection’s SP entity id as the audience',
  idp_status: 'the IdP reported a failed sign-in',
  no_assertion: 'the response carries no assertion',
  issuer: 'the assertion’s Issuer is not this connection’s IdP entity id',
  destination: 'the response’s Destination is not this connection’s ACS URL',
  recipient: 'the assertion’s Recipient is not this connection’s ACS URL',
  no_assertion_id: 'the assertion has no ID',
  replayed: 'this response was already used (replayed assertion)',
  name_id_not_email: 'the NameID must be the user’s e-mail address',
  certificates_expired:
    'every signing certificate of this connection has expired: add the IdP’s current certificate',
  deactivated: 'this account is deactivated',
  account_conflict:
    'this e-mail belongs to an account outside this SSO connection; ask Forecourt support to link it',
  not_mapped: 'no role mapping matches this user’s groups, and the connection has no default role',
  refused: 'the SAML response was refused',
} as const;
export type SsoFailure = keyof typeof SSO_FAILURES;

/**
 * A refused SSO configuration or sign-in. A refused response's message is what an admin can act
 * on (wrong audience, expired assertion, unknown certificate, replayed response); the log holds
 * the library's full reason, and neither ever holds the assertion.
 */
export class SamlError extends DomainError<SamlErrorCode> {
  constructor(
    code: SamlErrorCode,
    message: string,
    /** For a refused sign-in: its fixed reason. */
    readonly failure: SsoFailure | null = null,
  ) {
    super(code, message);
  }

  /** A refused sign-in, for `failure`. */
  static refused(failure: SsoFailure): SamlError {
    const code =
      failure === 'not_mapped'
        ? SamlErrorCode.NotMapped
        : failure === 'account_conflict'
          ? SamlErrorCode.AccountConflict
          : SamlErrorCode.Rejected;
    return new SamlError(code, SSO_FAILURES[failure], failure);
  }

  get status(): number {
    switch (this.code) {
      case SamlErrorCode.InvalidConnection:
        return 400;
      case SamlErrorCode.NotConfigured:
      case SamlErrorCode.UnknownConnection:
        return 404;
      case SamlErrorCode.Rejected:
      case SamlErrorCode.NotMapped:
      case SamlErrorCode.SsoOnly:
        return 401;
      case SamlErrorCode.AccountConflict:
        return 409;
      default:
        return assertNever(this.code);
    }
  }
}
