import { Body, Controller, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { EventsService } from './events.service';
import { Refusal } from './refusal';

/**
 * The original's routes (CONTRACT §1, §2, §6). Both answer a bare JSON string, so the reply is
 * serialised here: Express would send a returned string as text/html.
 */
@Controller('log/event')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
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

  @Get(':id')
  find(@Param('id') id: string): Promise<Record<string, unknown>> {
    return this.events.findEvent(id);
  }
}
