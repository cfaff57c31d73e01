// The framework's ceiling for the benchmark: Express alone, parsing the same JSON body and
// answering an event id, with nothing stored. Started as its own process by run.ts.
const { randomUUID } = require('node:crypto');
const express = require('express');

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));
app.post('/log/event', (req, res) => {
  if (typeof req.body !== 'object' || req.body === null) return res.status(400).json('bad');
  res.json(`entry_${randomUUID().replace(/-/g, '')}`);
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
