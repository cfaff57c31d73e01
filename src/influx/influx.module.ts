import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { influxConfig } from './influx.config';
import { InfluxHealthIndicator } from './influx.health';
import { InfluxService } from './influx.service';

@Module({
  imports: [ConfigModule.forFeature(influxConfig), TerminusModule],
  providers: [InfluxService, InfluxHealthIndicator],
  exports: [InfluxService, InfluxHealthIndicator],
})
export class InfluxModule {}
