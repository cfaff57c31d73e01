import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { FieldTypesService } from './field-types.service';
import { influxConfig } from './influx.config';
import { InfluxHealthIndicator } from './influx.health';
import { InfluxService } from './influx.service';
import { PointClock } from './point-clock';

@Module({
  imports: [ConfigModule.forFeature(influxConfig), TerminusModule],
  providers: [
    InfluxService,
    FieldTypesService,
    InfluxHealthIndicator,
    { provide: PointClock, useValue: new PointClock() },
  ],
  exports: [InfluxService, FieldTypesService, InfluxHealthIndicator, PointClock],
})
export class InfluxModule {}
