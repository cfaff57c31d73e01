import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { influxConfig } from '../influx/influx.config';
import { InfluxModule } from '../influx/influx.module';
import { spoolConfig } from '../spool/spool.config';
import { EventStamper } from './event-stamper';
import { PointClock } from './point-clock';
import { RetentionBound } from './retention';
import { stampsConfig } from './stamps.config';

/**
 * Owns "when did it happen, and have we seen it": the receive clock, the bounds of an event's
 * own `time` (MAX_EVENT_FUTURE_SECONDS, the retention policy), and the recent client ids with
 * the times their points got (DEDUP_WINDOW_HOURS, DEDUP_MAX_EVENTS, SPOOL_DIR/stamps-*.log).
 */
@Module({
  imports: [
    ConfigModule.forFeature(stampsConfig),
    ConfigModule.forFeature(spoolConfig),
    ConfigModule.forFeature(influxConfig),
    InfluxModule,
  ],
  providers: [EventStamper, RetentionBound, { provide: PointClock, useValue: new PointClock() }],
  exports: [EventStamper, PointClock],
})
export class StampsModule {}
