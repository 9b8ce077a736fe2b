import { assertNever, DomainError } from '@forecourt/core';

export enum LeadsErrorCode {
  CustomerNotFound = 'leads.customer_not_found',
  UnknownStore = 'leads.unknown_store',
  InvalidPhone = 'leads.invalid_phone',
  InvalidSensitive = 'leads.invalid_sensitive',
  Required = 'leads.required',
  LeadNotFound = 'leads.lead_not_found',
  StatusTransition = 'leads.status_transition',
  LostReasonRequired = 'leads.lost_reason_required',
  NotAnAssignee = 'leads.not_an_assignee',
  UnknownVehicle = 'leads.unknown_vehicle',
  UnknownCustomer = 'leads.unknown_customer',
  DealNotFound = 'leads.deal_not_found',
  DealTransition = 'leads.deal_transition',
  VehicleTaken = 'leads.vehicle_taken',
  DealLocked = 'leads.deal_locked',
  BookingNotFound = 'leads.booking_not_found',
  DoubleBooking = 'leads.double_booking',
  BookingTime = 'leads.booking_time',
  NotAPdf = 'leads.not_a_pdf',
  /** The lead changed since the caller read the version it names in If-Match. */
  VersionMismatch = 'leads.version_mismatch',
  BadPrecondition = 'leads.bad_precondition',
}

export class LeadsError extends DomainError<LeadsErrorCode> {
  constructor(code: LeadsErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case LeadsErrorCode.CustomerNotFound:
      case LeadsErrorCode.LeadNotFound:
      case LeadsErrorCode.DealNotFound:
      case LeadsErrorCode.BookingNotFound:
        return 404;
      case LeadsErrorCode.StatusTransition:
      case LeadsErrorCode.DealTransition:
      case LeadsErrorCode.VehicleTaken:
      case LeadsErrorCode.DealLocked:
      case LeadsErrorCode.DoubleBooking:
        return 409;
      case LeadsErrorCode.UnknownStore:
      case LeadsErrorCode.InvalidPhone:
      case LeadsErrorCode.InvalidSensitive:
      case LeadsErrorCode.Required:
      case LeadsErrorCode.LostReasonRequired:
      case LeadsErrorCode.NotAnAssignee:
      case LeadsErrorCode.UnknownVehicle:
      case LeadsErrorCode.UnknownCustomer:
      case LeadsErrorCode.BookingTime:
      case LeadsErrorCode.BadPrecondition:
        return 400;
      case LeadsErrorCode.VersionMismatch:
        return 412;
      case LeadsErrorCode.NotAPdf:
        return 415;
      default:
        return assertNever(this.code);
    }
  }
}
