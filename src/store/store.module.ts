import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { InfluxModule } from '../influx/influx.module';
import { spoolConfig } from '../spool/spool.config';
import { SpoolModule } from '../spool/spool.module';
import { PointClock } from './point-clock';
import { SchemaService } from './schema.service';
import { SpoolDrainer } from './spool-drainer';
import { StoreService } from './store.service';

/**
 * Owns "write to InfluxDB, or spool when it cannot, and replay the spool": the live write path
 * (StoreService), the replay (SpoolDrainer), the schema both type against (SchemaService), and
 * the clock that stamps points.
 */
@Module({
  imports: [ConfigModule.forFeature(spoolConfig), InfluxModule, SpoolModule],
  providers: [
    StoreService,
    SchemaService,
    SpoolDrainer,
    { provide: PointClock, useValue: new PointClock() },
  ],
  exports: [StoreService, PointClock],
})
export class StoreModule {}
