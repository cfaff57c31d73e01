import { Controller, Get, Inject, NotFoundException, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { metricsConfig, type MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** Prometheus scrapes without a token: the exposition holds counts, no event data. */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    if (!this.config.enabled) throw new NotFoundException('metrics are off (METRICS_ENABLED)');
    const { contentType, body } = await this.metrics.render();
    // A Buffer, so that Express sends the registry's Content-Type as it is.
    res.setHeader('Content-Type', contentType).send(Buffer.from(body));
  }
}
