// A Socket.IO 4.8 chat with rooms, websocket transport only, for Sori's benchmarks.
// Clients emit "join" (room, acknowledged once joined) and "chat" (room, message); every
// member of the room receives "chat" (message).
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 0);
const io = new Server({ transports: ["websocket"], serveClient: false });
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("chat", (room, message) => io.to(room).emit("chat", message));
});
const http = io.listen(port).httpServer;
http.on("listening", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
