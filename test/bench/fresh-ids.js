// autocannon for the two loads of run.ts's "ids+times vs none": the same generator for both,
// every request its own body from a list made before the run (so that making bodies costs the
// load generator nothing during it). `[<id>]` in the body becomes this process's id and the
// body's number, so each event of the ids+times load has an event_id no other request has;
// the string "[<t>]" becomes the number of milliseconds a minute before the run plus the body's
// number: the events of one request share a millisecond, each request has its own, as events
// logged at some 100 a millisecond would.
// autocannon's own `-I` cannot do it: it counts 27 more bytes per placeholder in
// Content-Length than its url-safe ids have. Prints autocannon's JSON summary.
//   node fresh-ids.js <url> <json: { headers, body, connections, amount | duration }>
const autocannon = require('autocannon');

const [url, json] = process.argv.slice(2);
const { headers, body, connections, amount, duration } = JSON.parse(json);
const template = JSON.stringify(body);
// A run of `amount` requests gets as many bodies; a timed one (the warm-up) cycles through 5,000.
const startMs = Date.now() - 60_000;
const bodies = Array.from({ length: amount ?? 5000 }, (_, n) =>
  template.replaceAll('[<id>]', `${process.pid}.${n}`).replaceAll('"[<t>]"', String(startMs + n)),
);
let sent = 0;
const instance = autocannon(
  {
    url,
    method: 'POST',
    connections,
    ...(amount === undefined ? { duration } : { amount }),
    headers: { 'content-type': 'application/json', ...headers },
    requests: [
      {
        setupRequest(request) {
          const next = bodies[sent % bodies.length];
          sent += 1;
          return { ...request, body: next };
        },
      },
    ],
  },
  (error, result) => {
    if (error) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(result));
  },
);
process.once('SIGINT', () => instance.stop());
