// The bench's OTLP/HTTP receiver (node bench/otlp-receiver.js PORT). It accepts every export and keeps nothing:
// an empty protobuf answer is a valid export response, and the cost measured is the gateway's, not a collector's
// on the same two cores. It counts what arrived, so a traced run can show that its telemetry was really sent
// and not dropped from a full queue: GET /counts answers {"logRecords":n,"spans":n}.
'use strict';
const http = require('http');

const counts = { logRecords: 0, spans: 0 };

// Calls visit(field, bytes) for each length-delimited field of a protobuf message; other wire types are skipped.
function eachField(buffer, visit) {
  let at = 0;
  const varint = () => {
    let value = 0, shift = 0, byte;
    do { byte = buffer[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return value;
  };
  while (at < buffer.length) {
    const key = varint(), field = Math.floor(key / 8), wireType = key & 7;
    if (wireType === 0) varint();
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) { const length = varint(); visit(field, buffer.subarray(at, at + length)); at += length; }
    else return;
  }
}

// Logs and traces nest alike: request { 1: resource* { 2: scope* { 2: log record or span* } } }. Only those
// lengths are read; the records themselves are skipped whole.
function itemsIn(request) {
  let items = 0;
  eachField(request, (field, resource) => field === 1 && eachField(resource, (field, scope) =>
    field === 2 && eachField(scope, field => { if (field === 2) items++; })));
  return items;
}

http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/counts') {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(counts));
    return;
  }
  const parts = [];
  request.on('data', part => parts.push(part));
  request.on('end', () => {
    const body = Buffer.concat(parts);
    if (request.url === '/v1/logs') counts.logRecords += itemsIn(body);
    else if (request.url === '/v1/traces') counts.spans += itemsIn(body);
    response.setHeader('content-type', 'application/x-protobuf');
    response.end();
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
