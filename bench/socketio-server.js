// Socket.IO 4 peer for bench/compare.sh (see shared/PEERS.md): WebSocket
// transport only, no compression. A client joins a room with the "join"
// event (acknowledged once joined, so the load client knows it is a member)
// and publishes with "pub"; the server emits "msg" to every member of the
// room, the sender included.
//
// Usage: node socketio-server.js PORT   (socket.io@4 must be resolvable)
"use strict";

const { createServer } = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3000);
const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("pub", (room, data) => {
    io.to(room).emit("msg", data);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`socket.io ${require("socket.io/package.json").version} listening on 127.0.0.1:${port}`);
});
