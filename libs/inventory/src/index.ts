export { InventoryModule } from './inventory.module';
export { InventoryError, InventoryErrorCode } from './inventory-error';
export { contentTypeCheck, MEDIA_TYPES, type MediaType, mediaTypeOf } from './media-type';
export { uploadOf } from './media-upload';
export type { MediaDownload, MediaUpload } from './vehicle-media.service';
export { VEHICLE_STATUSES, type VehicleStatus } from './vehicle-status';
export { checkDigitOf, normaliseVin, vinProblem } from './vin';
export { vehicleListQuery } from './vehicles.service';
export { VehicleStock } from './vehicle-stock';
