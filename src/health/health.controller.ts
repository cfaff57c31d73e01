import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { InfluxHealthIndicator } from '../influx/influx.health';
import { ref } from '../openapi/schemas';
import { SpoolHealthIndicator } from '../spool/spool.health';
import { GracefulShutdown } from './graceful-shutdown';
import { LIVENESS } from './liveness';

/** How long /ready waits for InfluxDB's ping before calling it down. */
const READY_TIMEOUT_MS = 2000;

@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly influx: InfluxHealthIndicator,
    private readonly spool: SpoolHealthIndicator,
    private readonly shutdown: GracefulShutdown,
  ) {}

  /**
   * Liveness (GET and HEAD): never looks at InfluxDB, so an outage restarts no pod. HEALTH_PORT,
   * when set, answers the same from a thread of its own (HealthListener).
   */
  @Get(['', 'ping'])
  @ApiOperation({ summary: 'Liveness: never looks at InfluxDB' })
  @ApiOkResponse({ description: 'Alive.', schema: ref('Liveness') })
  ping() {
    return LIVENESS;
  }

  /**
   * Readiness: 503 while InfluxDB does not answer, while the spool is full (until it drains
   * below SPOOL_LOW_WATER_BYTES), and from SIGTERM on; each check is in the body.
   */
  @Get('ready')
  // Terminus would document its own generic example; ours names the three checks.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ operationId: 'ready', summary: 'Readiness: InfluxDB, the spool, shutdown' })
  @ApiOkResponse({ description: 'Every check is up.', schema: ref('Readiness') })
  @ApiServiceUnavailableResponse({
    description: 'A check is down: InfluxDB, the spool (full), or shutting down.',
    schema: ref('Readiness'),
  })
  ready() {
    return this.health.check([
      () => this.shutdown.isHealthy('shutdown'),
      () => this.influx.isHealthy('influxdb', READY_TIMEOUT_MS),
      () => this.spool.isHealthy('spool'),
    ]);
  }
}
