import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { httpConfig } from './http/http.config';
import { JsonBodyInterceptor } from './http/json-body.interceptor';
import { LoadShedder } from './http/load-shedder';
import { requestLogging } from './http/request-logging';
import { RetryLaterFilter } from './http/retry-later.filter';
import { MetricsModule } from './metrics/metrics.module';

@Module({
  imports: [
    LoggerModule.forRootAsync({
      imports: [ConfigModule.forFeature(httpConfig)],
      inject: [httpConfig.KEY],
      useFactory: requestLogging,
    }),
    ConfigModule.forFeature(httpConfig),
    AuthModule,
    EventsModule,
    HealthModule,
    MetricsModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: RetryLaterFilter },
    // Every POST body is read here, after the guards (README "Tokens").
    { provide: APP_INTERCEPTOR, useClass: JsonBodyInterceptor },
    LoadShedder,
  ],
})
export class AppModule {}
