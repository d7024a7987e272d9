// A fast event endpoint for bench/run.sh (EVENT_WEBHOOK=1): answers every
// POST with 204 after checking its Sigil-Signature (HMAC-SHA256 over
// "t.body" with SECRET), and counts. `GET /count` answers
// {"received", "distinct", "bad"}. Prints {"port"} on start.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const secret = process.env.SECRET ?? "";
const port = Number(process.env.PORT ?? 0);
const keys = new Set();
let received = 0;
let bad = 0;

function verify(header, body) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return false;
  const mac = createHmac("sha256", secret).update(`${m[1]}.`).update(body).digest();
  return timingSafeEqual(mac, Buffer.from(m[2], "hex"));
}

const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ received, distinct: keys.size, bad }));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!verify(req.headers["sigil-signature"], body)) {
      bad += 1;
      res.writeHead(401).end();
      return;
    }
    received += 1;
    keys.add(req.headers["idempotency-key"]);
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
