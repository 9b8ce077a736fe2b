import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HttpMetrics } from './http-metrics';
import { WithoutPolicy } from '@forecourt/authz';

@ApiExcludeController()
@WithoutPolicy('Prometheus scrape endpoint (keep it off the public network)')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: HttpMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
