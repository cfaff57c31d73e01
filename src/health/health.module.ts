import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { InfluxModule } from '../influx/influx.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), InfluxModule],
  controllers: [HealthController],
})
export class HealthModule {}
