import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { influxConfig } from '../influx/influx.config';
import { InfluxModule } from '../influx/influx.module';
import { spoolConfig } from '../spool/spool.config';
import { SpoolModule } from '../spool/spool.module';
import { EventReader } from './event-reader';
import { PointWriter } from './point-writer';
import { SchemaService } from './schema.service';
import { SpoolDrainer } from './spool-drainer';
import { StoreService } from './store.service';

/**
 * Owns "write to InfluxDB, or spool when it cannot, replay the spool, and read an event back":
 * the facade events/ uses (StoreService), the one writer (PointWriter), the replay
 * (SpoolDrainer), the read path (EventReader), the schema all of them type against
 * (SchemaService). Points arrive stamped (stamps/).
 */
@Module({
  imports: [
    ConfigModule.forFeature(spoolConfig),
    ConfigModule.forFeature(influxConfig),
    InfluxModule,
    SpoolModule,
  ],
  providers: [StoreService, SchemaService, PointWriter, SpoolDrainer, EventReader],
  exports: [StoreService],
})
export class StoreModule {}
