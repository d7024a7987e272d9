// A claims webhook / attribute provider for Sigil, contract version 1
// (docs/claims-contract.md). No dependencies: `node claims-receiver.mjs`.
// Listens on 127.0.0.1:8787 (PORT to change), which the example
// configuration allows. Copy it and replace `lookup` with your own data.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const SECRET = process.env.SIGIL_WEBHOOK_SECRET ?? "dev-only-hr-claims-secret";
// Attribute providers authenticate Sigil by its credentials instead (here: bearer).
const TOKEN = process.env.SIGIL_PROVIDER_TOKEN ?? "dev-only-hr-directory-token";
const PORT = Number(process.env.PORT ?? 8787);
const MAX_SKEW_SECONDS = 300;

// Check `Sigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
function verify(header, body) {
  const parts = Object.fromEntries(
    (header ?? "").split(",").map((p) => p.split("=", 2)),
  );
  const t = Number(parts.t);
  if (!parts.v1 || !Number.isInteger(t)) return false;
  if (Math.abs(Date.now() / 1000 - t) > MAX_SKEW_SECONDS) return false; // replay window
  const expected = createHmac("sha256", SECRET).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// Your data source goes here: a few people, by subject id.
const PEOPLE = {
  "ada@example.com": { given_name: "Ada", family_name: "Lovelace", employee_id: "E-1815", department: "Analytical Engines" },
  "grace@example.com": { given_name: "Grace", family_name: "Hopper", employee_id: "E-1906", department: "Compilers" },
};
// The credential configurations this service gives claims for.
const CONFIGURATIONS = new Set(["employee_badge_sd_jwt", "employee_badge_python", "employee_badge_js"]);

// Returns [HTTP status, answer].
function lookup(request) {
  if (!CONFIGURATIONS.has(request.credentialConfigurationId)) {
    return [200, { status: "denied", reason: "we do not issue this credential" }];
  }
  // POST carries subject.id, GET the subjectId query parameter; no subject: Grace.
  const subject = request.subject?.id ?? request.subjectId ?? "grace@example.com";
  const claims = PEOPLE[subject];
  if (!claims) return [404, { error: "unknown subject" }];
  return [200, { contractVersion: "1", claims }];
  // Not ready yet: [200, { status: "pending", intervalSeconds: 30, reason: "HR record under review" }]
}

createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const reply = (status, json) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    // Webhook calls carry a signature; attribute provider calls the configured auth.
    const signed = verify(req.headers["sigil-signature"], body);
    const bearer = req.headers.authorization === `Bearer ${TOKEN}`;
    if (!signed && !bearer) return reply(401, { error: "unauthenticated" });
    let request;
    try {
      request = req.method === "GET"
        ? Object.fromEntries(new URL(req.url, "http://x").searchParams)
        : JSON.parse(body);
    } catch {
      return reply(400, { error: "not JSON" });
    }
    if (request.contractVersion !== "1") return reply(400, { error: "unsupported contract version" });
    reply(...lookup(request));
  });
}).listen(PORT, "127.0.0.1", () => console.log(`claims receiver on http://127.0.0.1:${PORT}/claims`));
