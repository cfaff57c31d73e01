import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { httpConfig } from '../http/http.config';
import { InfluxModule } from '../influx/influx.module';
import { metricsConfig } from '../metrics/metrics.config';
import { SpoolModule } from '../spool/spool.module';
import { GracefulShutdown } from './graceful-shutdown';
import { HealthController } from './health.controller';
import { HealthListener } from './health-listener';
import { MetricsController } from './metrics.controller';

/**
 * What ops and Kubernetes call without a token: liveness (/ping, and HEALTH_PORT's own thread),
 * readiness (/ready) and the Prometheus scrape (/metrics).
 */
@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
    ConfigModule.forFeature(httpConfig),
    ConfigModule.forFeature(metricsConfig),
    InfluxModule,
    SpoolModule,
  ],
  controllers: [HealthController, MetricsController],
  providers: [GracefulShutdown, HealthListener],
})
export class HealthModule {}
