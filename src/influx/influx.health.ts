import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { describeFailure } from './influx.answers';
import { InfluxService } from './influx.service';

/**
 * Readiness of InfluxDB: up when it answers `/ping` within the probe's timeout and takes the
 * service's credentials. A ping needs none, so once a write or a query was refused for its
 * credentials (401/403) each probe asks again with an empty write, until InfluxDB takes them.
 */
@Injectable()
export class InfluxHealthIndicator {
  constructor(
    private readonly influx: InfluxService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key: string, timeoutMs: number) {
    const indicator = this.health.check(key);
    const mode = this.influx.mode;
    const down = await this.influx.ping(timeoutMs);
    if (down) return indicator.down({ mode, message: describeFailure(down) });
    if (this.influx.credentials.refused) await this.influx.probeCredentials(timeoutMs);
    const problem = this.influx.credentials.problem();
    return problem === undefined
      ? indicator.up({ mode })
      : indicator.down({ mode, message: problem });
  }
}
