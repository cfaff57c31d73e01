import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { httpConfig } from './http/http.config';
import { JsonBodyModule } from './http/json-body.module';
import { RequestLogModule } from './http/request-log.module';
import { nestLogging, RequestLog } from './http/request-logging';
import { RetryLaterFilter } from './http/retry-later.filter';
import { WriteAdmission } from './http/write-admission';
import { MetricsModule } from './metrics/metrics.module';

@Module({
  imports: [
    LoggerModule.forRootAsync({
      imports: [RequestLogModule],
      inject: [RequestLog],
      useFactory: nestLogging,
    }),
    RequestLogModule,
    ConfigModule.forFeature(httpConfig),
    AuthModule,
    // After AuthModule: its TokenGuard runs first, then every POST body is read (docs/DEVELOPMENT.md, "Architecture").
    JsonBodyModule,
    EventsModule,
    HealthModule,
    MetricsModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: RetryLaterFilter }, WriteAdmission],
})
export class AppModule {}
