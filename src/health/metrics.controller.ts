import { Controller, Get, Inject, NotFoundException, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { ref } from '../openapi/schemas';
import { metricsConfig, type MetricsConfig } from '../metrics/metrics.config';
import { MetricsService } from '../metrics/metrics.service';

/** Prometheus scrapes without a token: the exposition holds counts, no event data. */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'metrics', summary: 'Prometheus metrics' })
  @ApiOkResponse({
    description: 'The Prometheus text exposition format.',
    content: {
      'text/plain; version=0.0.4; charset=utf-8': {
        schema: { type: 'string' },
        example:
          '# TYPE stats_events_total counter\nstats_events_total{outcome="stored",reason=""} 42\n',
      },
    },
  })
  @ApiNotFoundResponse({ description: 'METRICS_ENABLED=false.', schema: ref('HttpError') })
  async scrape(@Res() res: Response): Promise<void> {
    if (!this.config.enabled) throw new NotFoundException('metrics are off (METRICS_ENABLED)');
    const { contentType, body } = await this.metrics.render();
    // A Buffer, so that Express sends the registry's Content-Type as it is.
    res.setHeader('Content-Type', contentType).send(Buffer.from(body));
  }
}
