#!/usr/bin/env node
// A small Node client of the Dorset Digital registry (docs/clients.md), loading the contracts from
// protos/ at run time with @grpc/proto-loader (no code generation step), calling with @grpc/grpc-js.
//   npm ci && DORSET_TOKEN=... node registry_example.js 127.0.0.1:50051 [--expect-localities N]
// It lists every locality page by page and shows how an error arrives (a missing practice is NOT_FOUND).
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protos = process.env.DORSET_PROTOS || path.join(__dirname, '..', '..', '..', 'protos');
const googleapis =
    '/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis';

async function main() {
  const args = process.argv.slice(2);
  const target = args[0];
  const expectAt = args.indexOf('--expect-localities');
  const expected = expectAt >= 0 ? Number(args[expectAt + 1]) : null;
  if (!target) throw new Error('usage: registry_example.js host:port [--expect-localities N]');

  // keepCase keeps the proto field names (page_size, not pageSize); longs as strings keep int64 exact.
  const definition = protoLoader.loadSync('dorset/registry/v1/registry.proto', {
    includeDirs: [protos, googleapis, '/usr/include'],
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const {RegistryService} = grpc.loadPackageDefinition(definition).dorset.registry.v1;
  // scripts/run listens in plaintext on loopback; against TLS use grpc.credentials.createSsl(ca).
  const client = new RegistryService(target, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${process.env.DORSET_TOKEN || ''}`);
  const call = (method, request) => new Promise((resolve, reject) => {
    client[method](request, metadata, {deadline: Date.now() + 10000},
                   (error, reply) => error ? reject(error) : resolve(reply));
  });

  const localities = [];
  let pageToken = '';
  do {
    const page = await call('ListLocalities', {page_size: 5, page_token: pageToken});
    localities.push(...page.localities);
    pageToken = page.next_page_token;
  } while (pageToken);
  for (const locality of localities) console.log(`${locality.name}\t${locality.display_name}`);
  console.log(`localities: ${localities.length}`);

  let failed = false;
  try {
    await call('GetPractice', {name: 'practices/Z99999'});
    console.log('GetPractice(practices/Z99999) unexpectedly succeeded');
    failed = true;
  } catch (error) {
    console.log(`GetPractice(practices/Z99999): ${grpc.status[error.code]} - ${error.details}`);
    failed = error.code !== grpc.status.NOT_FOUND;
  }
  client.close();
  if (expected !== null && localities.length !== expected) {
    console.log(`expected ${expected} localities, got ${localities.length}`);
    failed = true;
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error.message);
  process.exit(1);
});
