// autocannon for the "ids+times" load of run.ts: every request a fresh body, each event with
// an event_id no other request has (this process's id, the request's number, the index) and
// its own time. autocannon's `-I` ([<id>] replacement) cannot do it: it counts 27 more bytes
// per placeholder in Content-Length than its url-safe ids have. Prints autocannon's JSON.
//   node fresh-ids.js <url> <json of { headers, body (an array, [<id>] in event_id), connections, amount | duration }>
const autocannon = require('autocannon');

const [url, json] = process.argv.slice(2);
const { headers, body, connections, amount, duration } = JSON.parse(json);
const template = JSON.stringify(body);
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
          sent += 1;
          return { ...request, body: template.replaceAll('[<id>]', `${process.pid}.${sent}`) };
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
