import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { InfluxHealthIndicator } from '../influx/influx.health';

const { version } = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
) as { version: string };

/** How long /ready waits for InfluxDB's ping before calling it down. */
const READY_TIMEOUT_MS = 2000;

@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly influx: InfluxHealthIndicator,
  ) {}

  /** Liveness (GET and HEAD): never looks at InfluxDB, so an outage restarts no pod. */
  @Get(['', 'ping'])
  ping() {
    return { status: 'ok', name: 'stats-service', version };
  }

  /** Readiness: 503 while InfluxDB does not answer, with each check in the body. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.influx.isHealthy('influxdb', READY_TIMEOUT_MS)]);
  }
}
