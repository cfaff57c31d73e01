import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { httpConfig } from '../http/http.config';
import { StampsModule } from '../stamps/stamps.module';
import { StoreModule } from '../store/store.module';
import { EventsController } from './events.controller';
import { eventsConfig } from './events.config';
import { EventsService } from './events.service';

@Module({
  imports: [
    ConfigModule.forFeature(eventsConfig),
    ConfigModule.forFeature(httpConfig),
    StoreModule,
    StampsModule,
  ],
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsModule {}
