import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { describe, InfluxService } from './influx.service';

/** Readiness of InfluxDB: up when it answers `/ping` within the probe's timeout. */
@Injectable()
export class InfluxHealthIndicator {
  constructor(
    private readonly influx: InfluxService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key: string, timeoutMs: number) {
    const indicator = this.health.check(key);
    try {
      await this.influx.ping(timeoutMs);
      return indicator.up({ mode: this.influx.mode });
    } catch (error) {
      return indicator.down({ mode: this.influx.mode, message: describe(error) });
    }
  }
}
