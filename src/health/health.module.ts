import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { httpConfig } from '../http/http.config';
import { InfluxModule } from '../influx/influx.module';
import { SpoolModule } from '../spool/spool.module';
import { GracefulShutdown } from './graceful-shutdown';
import { HealthController } from './health.controller';
import { HealthListener } from './health-listener';

@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
    ConfigModule.forFeature(httpConfig),
    InfluxModule,
    SpoolModule,
  ],
  controllers: [HealthController],
  providers: [GracefulShutdown, HealthListener],
})
export class HealthModule {}
