import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { metricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/**
 * Global, so that any module can inject MetricsService to record what it does. Its scrape route
 * is HealthModule's (health/metrics.controller.ts), beside the other routes ops call untokened.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(metricsConfig)],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
