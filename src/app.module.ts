import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { TokenGuard } from './auth/token.guard';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { httpConfig } from './http/http.config';
import { JsonBodyGuard } from './http/json-body.guard';
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
    JsonBodyModule,
    EventsModule,
    HealthModule,
    MetricsModule,
  ],
  providers: [
    // The global guards, in the order they run: the token first, then (a request that may
    // proceed) its body is read. Nest runs APP_GUARD providers in the order they are listed.
    { provide: APP_GUARD, useExisting: TokenGuard },
    { provide: APP_GUARD, useExisting: JsonBodyGuard },
    { provide: APP_FILTER, useClass: RetryLaterFilter },
    WriteAdmission,
  ],
})
export class AppModule {}
