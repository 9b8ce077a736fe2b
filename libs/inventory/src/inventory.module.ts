import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { MediaLinks } from './media-links';
import { VehicleMedia } from './vehicle-media.service';
import { MediaLinksController, VehiclesController } from './vehicles.controller';
import { VehicleStock } from './vehicle-stock';
import { Vehicles } from './vehicles.service';

/** Vehicles and their media; needs the database, crypto, storage, audit and authz modules. */
@Module({
  imports: [AuthModule],
  controllers: [VehiclesController, MediaLinksController],
  providers: [Vehicles, VehicleMedia, MediaLinks, VehicleStock],
  exports: [Vehicles, VehicleStock],
})
export class InventoryModule {}
