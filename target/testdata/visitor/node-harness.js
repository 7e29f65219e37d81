// node-harness.js runs the Adobe Target Node.js SDK on the inputs of
// cases.json and prints, as JSON, what the SDK sent (the id and
// experienceCloud of each delivery request, captured by a recording server
// on 127.0.0.1) and what it returned as visitorState, or the error it threw.
// Supplemental data ids are random: each case's are replaced by <sdid-1>,
// <sdid-2>... in order of first appearance.
//
//   cd /tmp/nodesdk && npm install @adobe/target-nodejs-sdk@2.4.3
//   NODE_PATH=/tmp/nodesdk/node_modules node node-harness.js cases.json > node-sdk-2.4.3.json
//
// target/visitor_node_test.go runs it the same way when TARGETFLOW_NODE_SDK
// names the directory holding node_modules/@adobe/target-nodejs-sdk.
"use strict";

const fs = require("fs");
const http = require("http");
const TargetClient = require("@adobe/target-nodejs-sdk");
const Visitor = require("@adobe-mcid/visitor-js-server");
const sdkVersion = require("@adobe/target-nodejs-sdk/package.json").version;

const AUTH_STATES = { unknown: 0, authenticated: 1, logged_out: 2 };

function recordingServer() {
  const bodies = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", chunk => (data += chunk));
    req.on("end", () => {
      const body = JSON.parse(data);
      bodies.push(body);
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ status: 200, requestId: body.requestId, client: "acmeclient", id: body.id || {} }));
    });
  });
  return new Promise(resolve => server.listen(0, "127.0.0.1", () => resolve({ server, bodies })));
}

// nodeCustomerIds turns the Delivery API form of cases.json into the
// Visitor API form the Node.js SDK takes: {integrationCode: {id, authState}}.
function nodeCustomerIds(ids) {
  if (!ids) {
    return undefined;
  }
  const out = {};
  for (const id of ids) {
    out[id.integrationCode] = { id: id.id, authState: AUTH_STATES[id.authenticatedState] };
  }
  return out;
}

function normalizer() {
  const seen = new Map();
  const sdidPattern = /^[0-9A-F]{16}-[0-9A-F]{16}$/;
  return function normalize(value) {
    return JSON.parse(JSON.stringify(value), (key, v) => {
      if (typeof v === "string" && sdidPattern.test(v)) {
        if (!seen.has(v)) {
          seen.set(v, `<sdid-${seen.size + 1}>`);
        }
        return seen.get(v);
      }
      return v;
    });
  };
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const { server, bodies } = await recordingServer();
  const client = TargetClient.create({
    client: "acmeclient",
    organizationId: cases.organizationId,
    serverDomain: `127.0.0.1:${server.address().port}`,
    secure: false,
    telemetryEnabled: false,
    logger: { debug() {}, error() {} }
  });
  const out = { sdk: `@adobe/target-nodejs-sdk ${sdkVersion}`, organizationId: cases.organizationId, cases: [] };
  for (const c of cases.cases) {
    const normalize = normalizer();
    const visitor = c.sharedVisitor ? new Visitor(cases.organizationId) : undefined;
    const calls = [];
    for (const call of c.calls) {
      const before = bodies.length;
      const options = { request: JSON.parse(JSON.stringify(call.request)) };
      if (call.visitorCookie !== undefined) options.visitorCookie = call.visitorCookie;
      if (call.customerIds) options.customerIds = nodeCustomerIds(call.customerIds);
      if (call.consumerId) options.consumerId = call.consumerId;
      if (visitor) options.visitor = visitor;
      const result = {};
      try {
        const response = await client.getOffers(options);
        const sent = bodies[before];
        result.sent = normalize({ id: sent.id, experienceCloud: sent.experienceCloud });
        result.visitorState = normalize(response.visitorState);
      } catch (err) {
        result.error = `${err.name}: ${err.message}`;
      }
      calls.push(result);
    }
    out.cases.push({ name: c.name, calls });
  }
  server.close();
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
