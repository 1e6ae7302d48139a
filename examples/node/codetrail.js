#!/usr/bin/env node
// A codetrail client in Node with @grpc/grpc-js and @grpc/proto-loader:
// (1) one Search page, (2) a Subscribe from the start of history that prints
// the replayed events and stops at caught_up.
//
//   node codetrail.js ADDR QUERY      e.g. node codetrail.js 127.0.0.1:7000 'errorCode:*'
//
// Output, one line each (examples_test.go reads it):
//   search total=N
//   search TIME EVENTSOURCE EVENTNAME          (the newest few)
//   subscribe TIME EVENTSOURCE EVENTNAME       (every stored match, store order)
//   subscribe progress cursor=C                (if the replay is slow)
//   subscribe caught_up events=N cursor=C
// Errors go to standard error with the gRPC status; the exit code is then 1.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// The .proto files are read at run time from the repository's proto/ tree;
// proto-loader brings the google/protobuf well-known types itself.
const PROTO_ROOT = path.join(__dirname, '..', '..', 'proto');
const SEARCH_PAGE = 5;
// A Subscribe never ends by itself; this bounds the replay in case the
// server never says caught_up.
const SUBSCRIBE_DEADLINE_MS = 60_000;

function loadEventService() {
  const def = protoLoader.loadSync('codetrail/v1/event_service.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: false, // eventTime, eventSource: the JSON names grpcurl prints
    longs: String, // int64 (totalHits) as a decimal string: exact beyond 2^53
    enums: String,
    defaults: true,
    oneofs: true, // msg.message names the member of SubscribeResponse's oneof
  });
  return grpc.loadPackageDefinition(def).codetrail.v1.EventService;
}

// formatTime prints a google.protobuf.Timestamp to the second, in UTC.
function formatTime(ts) {
  if (!ts) return '-';
  return new Date(Number(ts.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function line(e) {
  return `${formatTime(e.eventTime)} ${e.eventSource} ${e.eventName}`;
}

function search(client, query) {
  return new Promise((resolve, reject) => {
    const req = { query, pageSize: SEARCH_PAGE, view: 'EVENT_VIEW_SUMMARY' };
    client.Search(req, { deadline: Date.now() + 30_000 }, (err, res) => {
      if (err) return reject(err);
      console.log(`search total=${res.totalHits}`);
      for (const e of res.events) console.log(`search ${line(e)}`);
      resolve();
    });
  });
}

function subscribe(client, query) {
  return new Promise((resolve, reject) => {
    const req = { query, fromStart: true, view: 'EVENT_VIEW_SUMMARY' };
    const call = client.Subscribe(req, { deadline: Date.now() + SUBSCRIBE_DEADLINE_MS });
    let events = 0;
    let done = false;
    call.on('data', (msg) => {
      if (done) return;
      switch (msg.message) {
        case 'event':
          events++;
          console.log(`subscribe ${line(msg.event)}`);
          break;
        case 'progress':
          console.log(`subscribe progress cursor=${msg.progress.cursor}`);
          break;
        case 'caughtUp':
          console.log(`subscribe caught_up events=${events} cursor=${msg.caughtUp.cursor}`);
          // Live events would follow; this example stops here.
          done = true;
          call.cancel();
          resolve();
          break;
      }
    });
    call.on('error', (err) => {
      // Our own cancel ends the call with CANCELLED: not an error.
      if (done && err.code === grpc.status.CANCELLED) return;
      reject(err);
    });
    call.on('end', () => {
      if (!done) reject(new Error('subscribe: stream ended before caught_up'));
    });
  });
}

// Output piped into `head` that closes early: stop quietly, as Unix tools do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main() {
  const [addr, query] = process.argv.slice(2);
  if (!addr || query === undefined) {
    console.error('usage: node codetrail.js ADDR QUERY');
    process.exit(2);
  }
  const EventService = loadEventService();
  const client = new EventService(addr, grpc.credentials.createInsecure());
  try {
    await search(client, query);
    await subscribe(client, query);
  } finally {
    client.close();
  }
}

main().catch((err) => {
  // A gRPC error carries its status code; print it by name, as grpcurl does.
  const code = err.code !== undefined ? `${grpc.status[err.code]}: ` : '';
  console.error(`codetrail.js: ${code}${err.details || err.message}`);
  process.exit(1);
});
