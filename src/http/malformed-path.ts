import type { IncomingMessage, ServerResponse } from 'node:http';

const BODY = JSON.stringify({
  statusCode: 404,
  error: 'Not Found',
  message: 'nothing is found at a path with malformed percent-encoding',
});

/**
 * A path with malformed percent-encoding (`GET /log/event/%`) names nothing that can exist: 404
 * with the usual JSON body. Express would fail decoding the route parameter and answer 400.
 * Registered by createApp before the routes; costs a string search on other requests.
 */
export function malformedPath(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const url = req.url ?? '';
  const end = url.indexOf('?');
  const path = end < 0 ? url : url.slice(0, end);
  if (!path.includes('%') || decodes(path)) return next();
  res.writeHead(404, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(BODY),
  });
  res.end(BODY);
}

function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
