import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { httpConfig } from '../http/http.config';
import { InfluxModule } from '../influx/influx.module';
import { spoolConfig } from '../spool/spool.config';
import { SpoolModule } from '../spool/spool.module';
import { EventStore } from './event-store';
import { EventsController } from './events.controller';
import { eventsConfig } from './events.config';
import { EventsService } from './events.service';

@Module({
  imports: [
    ConfigModule.forFeature(eventsConfig),
    ConfigModule.forFeature(httpConfig),
    ConfigModule.forFeature(spoolConfig),
    InfluxModule,
    SpoolModule,
  ],
  controllers: [EventsController],
  providers: [EventsService, EventStore],
})
export class EventsModule {}
