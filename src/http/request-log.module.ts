import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { httpConfig, type HttpConfig } from './http.config';
import { RequestLog } from './request-logging';

/** The one logger: nestjs-pino writes through it, ServingAdapter logs each answer with it. */
@Module({
  imports: [ConfigModule.forFeature(httpConfig)],
  providers: [
    {
      provide: RequestLog,
      inject: [httpConfig.KEY],
      useFactory: (config: HttpConfig) => new RequestLog(config),
    },
  ],
  exports: [RequestLog],
})
export class RequestLogModule {}
