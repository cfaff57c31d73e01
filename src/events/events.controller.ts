import { Body, Controller, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { BatchResult, EventsService } from './events.service';
import { Refusal } from './refusal';

@Controller('log')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /**
   * The original's route (CONTRACT §1): an object is one event, an array is points. Both answer
   * a bare JSON string, serialised here: Express would send a returned string as text/html.
   */
  @Post('event')
  @HttpCode(200)
  @Header('Content-Type', 'application/json; charset=utf-8')
  async log(@Body() body: unknown): Promise<string> {
    if (Array.isArray(body)) {
      await this.events.logPoints(body);
      return JSON.stringify('OK');
    }
    if (typeof body === 'object' && body !== null) {
      return JSON.stringify(await this.events.logEvent(body as Record<string, unknown>));
    }
    throw new Refusal('', 'the body must be a JSON object (an event) or an array (points)');
  }

  /** Many events in one request, each accepted or rejected on its own. */
  @Post('events')
  @HttpCode(200)
  logMany(@Body() body: unknown): Promise<BatchResult> {
    if (!Array.isArray(body)) throw new Refusal('', 'the body must be a JSON array of events');
    return this.events.logEvents(body);
  }

  @Get('event/:id')
  find(@Param('id') id: string): Promise<Record<string, unknown>> {
    return this.events.findEvent(id);
  }
}
