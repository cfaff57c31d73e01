import { NotFoundException } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsController } from './metrics.controller';
import { parseMetricsConfig } from '../metrics/metrics.config';
import { MetricsService } from '../metrics/metrics.service';

class FakeResponse {
  readonly headers = new Map<string, string>();
  sent?: unknown;

  setHeader(name: string, value: string): this {
    this.headers.set(name, value);
    return this;
  }

  send(body: unknown): this {
    this.sent = body;
    return this;
  }
}

describe(MetricsController.name, () => {
  it('sends the exposition with the registry’s content type', async () => {
    const metrics = new MetricsService();
    metrics.spoolRecords.set(12);
    const response = new FakeResponse();

    await new MetricsController(metrics, parseMetricsConfig({})).scrape(
      response as unknown as Response,
    );

    expect(response.headers.get('Content-Type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(String(response.sent)).toContain('stats_spool_records 12\n');
  });

  it('answers 404 when METRICS_ENABLED=false', async () => {
    const response = new FakeResponse();
    const controller = new MetricsController(
      new MetricsService(),
      parseMetricsConfig({ METRICS_ENABLED: 'false' }),
    );

    await expect(controller.scrape(response as unknown as Response)).rejects.toThrow(
      new NotFoundException('metrics are off (METRICS_ENABLED)'),
    );
    expect(response.sent).toBeUndefined();
  });
});
