import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { eventsConfig } from '../events/events.config';
import { InfluxModule } from '../influx/influx.module';
import { spoolConfig } from './spool.config';
import { SpoolDrainer } from './spool.drainer';
import { SpoolHealthIndicator } from './spool.health';
import { SpoolService } from './spool.service';

@Module({
  imports: [
    ConfigModule.forFeature(spoolConfig),
    // TABLE_NAME: replayed points are typed with the events measurement's layout rules.
    ConfigModule.forFeature(eventsConfig),
    InfluxModule,
    TerminusModule,
  ],
  providers: [SpoolService, SpoolDrainer, SpoolHealthIndicator],
  exports: [SpoolService, SpoolDrainer, SpoolHealthIndicator],
})
export class SpoolModule {}
