import { assertNever, DomainError } from '@forecourt/core';

export enum InventoryErrorCode {
  VehicleNotFound = 'inventory.vehicle_not_found',
  MediaNotFound = 'inventory.media_not_found',
  VinInStock = 'inventory.vin_in_stock',
  UnknownStore = 'inventory.unknown_store',
  AcquiredInFuture = 'inventory.acquired_in_future',
  StatusTransition = 'inventory.status_transition',
  SoldVehicleLocked = 'inventory.sold_vehicle_locked',
  VehicleOnDeal = 'inventory.vehicle_on_deal',
  NotMultipart = 'inventory.not_multipart',
  MalformedMultipart = 'inventory.malformed_multipart',
  FileMissing = 'inventory.file_missing',
  FileTooLarge = 'inventory.file_too_large',
  UnsupportedMediaType = 'inventory.unsupported_media_type',
  TooManyMedia = 'inventory.too_many_media',
  LinkInvalid = 'inventory.link_invalid',
  LinkExpired = 'inventory.link_expired',
}

export class InventoryError extends DomainError<InventoryErrorCode> {
  constructor(code: InventoryErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case InventoryErrorCode.VehicleNotFound:
      case InventoryErrorCode.MediaNotFound:
      case InventoryErrorCode.LinkInvalid:
        return 404;
      case InventoryErrorCode.LinkExpired:
        return 410;
      case InventoryErrorCode.VinInStock:
      case InventoryErrorCode.StatusTransition:
      case InventoryErrorCode.SoldVehicleLocked:
      case InventoryErrorCode.VehicleOnDeal:
      case InventoryErrorCode.TooManyMedia:
        return 409;
      case InventoryErrorCode.UnknownStore:
      case InventoryErrorCode.AcquiredInFuture:
      case InventoryErrorCode.NotMultipart:
      case InventoryErrorCode.MalformedMultipart:
      case InventoryErrorCode.FileMissing:
        return 400;
      case InventoryErrorCode.FileTooLarge:
        return 413;
      case InventoryErrorCode.UnsupportedMediaType:
        return 415;
      default:
        return assertNever(this.code);
    }
  }
}
