import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { SecurityTxtController } from './security-txt.controller';

/** Health, metrics and the security contact: what operators and scanners look at. */
@Module({
  controllers: [HealthController, MetricsController, SecurityTxtController],
  providers: [HttpMetrics],
})
export class OperationsModule {}
