// A real MQTT broker that speaks MQTT over WebSocket, for tests: Aedes behind a `ws` server,
// on loopback, on ports the system picks. Started by `mqtt_std::test_ws_broker::WsBroker`.
//
// Needs the npm packages `aedes` (1.x) and `ws` (8.x) on NODE_PATH:
//   npm install --no-audit --no-fund --prefix DIR aedes@1.2.0 ws@8
//
// Argument: one JSON object {path, cert, key, token, username, password}:
// - path: the only URI path accepted (others get HTTP 400);
// - cert, key: PEM files; a `wss` listener is added when both are given;
// - token: when set, the handshake needs `Authorization: Bearer TOKEN` (else HTTP 401);
// - username, password: when set, a CONNECT with a user name must carry these (a CONNECT
//   without a user name is still accepted).
// The sub-protocol `mqtt` is required [MQTT-6.0.0-3]: a client that does not offer it gets
// no sub-protocol in the answer. A plain MQTT TCP listener is opened too.
// When every listener is up, one JSON line {"tcp":N,"ws":N,"wss":N|null} goes to stdout.
// The process exits when its stdin closes.
'use strict'

const fs = require('fs')
const http = require('http')
const https = require('https')
const net = require('net')
const { Aedes } = require('aedes')
const { WebSocketServer, createWebSocketStream } = require('ws')

function listen (server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server.address().port))
  })
}

function websocket (server, broker, opts) {
  const wss = new WebSocketServer({
    server,
    path: opts.path || '/mqtt',
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    verifyClient: (info) =>
      !opts.token || info.req.headers.authorization === 'Bearer ' + opts.token
  })
  wss.on('connection', (conn, req) => broker.handle(createWebSocketStream(conn), req))
}

async function main () {
  const opts = JSON.parse(process.argv[2] || '{}')
  const broker = await Aedes.createBroker()
  broker.authenticate = (client, username, password, done) => {
    if (!opts.username || username === undefined || username === null) return done(null, true)
    const ok = username === opts.username && password && password.toString() === opts.password
    if (ok) return done(null, true)
    const err = new Error('bad user name or password')
    err.returnCode = 4
    done(err, false)
  }

  const tcp = net.createServer(broker.handle)
  const tcpPort = await listen(tcp)
  const ws = http.createServer()
  websocket(ws, broker, opts)
  const wsPort = await listen(ws)
  let wssPort = null
  if (opts.cert && opts.key) {
    const secure = https.createServer({
      cert: fs.readFileSync(opts.cert),
      key: fs.readFileSync(opts.key)
    })
    websocket(secure, broker, opts)
    wssPort = await listen(secure)
  }
  process.stdout.write(JSON.stringify({ tcp: tcpPort, ws: wsPort, wss: wssPort }) + '\n')
}

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
main().catch((e) => {
  process.stderr.write('aedes-ws-broker: ' + (e && e.stack ? e.stack : e) + '\n')
  process.exit(1)
})
