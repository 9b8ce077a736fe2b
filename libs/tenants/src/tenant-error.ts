import { assertNever, DomainError } from '@forecourt/core';

export enum TenantErrorCode {
  SlugTaken = 'tenant.slug_taken',
  StoreNameTaken = 'tenant.store_name_taken',
  UnknownStore = 'tenant.unknown_store',
  UserNotFound = 'tenant.user_not_found',
  InvitationInvalid = 'tenant.invitation_invalid',
  WeakPassword = 'tenant.weak_password',
  WrongPassword = 'tenant.wrong_password',
  AdminNeedsAllStores = 'tenant.admin_needs_all_stores',
  MailUndeliverable = 'tenant.mail_undeliverable',
  NothingToCheckpoint = 'tenant.nothing_to_checkpoint',
  TenantNotFound = 'tenant.not_found',
  GrantNotFound = 'tenant.support_grant_not_found',
  RowNotFound = 'tenant.row_not_found',
  GrantSelfApproval = 'tenant.support_grant_self_approval',
  GrantNotPending = 'tenant.support_grant_not_pending',
}

export class TenantError extends DomainError<TenantErrorCode> {
  constructor(code: TenantErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case TenantErrorCode.SlugTaken:
      case TenantErrorCode.StoreNameTaken:
      case TenantErrorCode.NothingToCheckpoint:
      case TenantErrorCode.GrantNotPending:
        return 409;
      case TenantErrorCode.UnknownStore:
      case TenantErrorCode.WeakPassword:
      case TenantErrorCode.AdminNeedsAllStores:
        return 400;
      case TenantErrorCode.UserNotFound:
      case TenantErrorCode.TenantNotFound:
      case TenantErrorCode.GrantNotFound:
      case TenantErrorCode.RowNotFound:
        return 404;
      case TenantErrorCode.GrantSelfApproval:
        return 403;
      case TenantErrorCode.InvitationInvalid:
      case TenantErrorCode.WrongPassword:
        return 401;
      case TenantErrorCode.MailUndeliverable:
        return 503;
      default:
        return assertNever(this.code);
    }
  }
}
