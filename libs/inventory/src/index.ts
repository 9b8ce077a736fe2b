export { InventoryModule } from './inventory.module';
export { InventoryError, InventoryErrorCode } from './inventory-error';
export { MEDIA_TYPES, type MediaType, mediaTypeOf } from './media-type';
export { VEHICLE_STATUSES, type VehicleStatus } from './vehicle-status';
export { checkDigitOf, normaliseVin, vinProblem } from './vin';
export { vehicleListQuery } from './vehicles.service';
export { VehicleStock } from './vehicle-stock';
