import { Body, Controller, Get, Header, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Outcome } from './event-store';
import { BatchResult, EventsService } from './events.service';
import { Refusal } from './refusal';

/** 200 once InfluxDB stored it all, 202 once (some of) it waits in the durable spool. */
function status(res: Response, outcome: Outcome): void {
  res.status(outcome === 'spooled' ? 202 : 200);
}

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
  async log(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<string> {
    if (Array.isArray(body)) {
      status(res, (await this.events.logPoints(body)).outcome);
      return JSON.stringify('OK');
    }
    if (typeof body === 'object' && body !== null) {
      const { id, outcome } = await this.events.logEvent(body as Record<string, unknown>);
      status(res, outcome);
      return JSON.stringify(id);
    }
    throw new Refusal('', 'the body must be a JSON object (an event) or an array (points)');
  }

  /** Many events in one request, each accepted or rejected on its own. */
  @Post('events')
  @HttpCode(200)
  async logMany(
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<BatchResult> {
    if (!Array.isArray(body)) throw new Refusal('', 'the body must be a JSON array of events');
    const { result, outcome } = await this.events.logEvents(body);
    status(res, outcome);
    return result;
  }

  /**
   * One event, with `status` "stored" or "queued" (still in the spool). An event with a
   * `status` key of its own keeps it; `X-Event-Status` always says where the event is.
   */
  @Get('event/:id')
  async find(
    @Param('id') id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const { event, status } = await this.events.findEvent(id);
    res.setHeader('X-Event-Status', status);
    return { status, ...event };
  }
}
