// Preloaded (`node --require`) by benchmarks/vs_nodered.py unless it runs with --nodered-stock:
// Nagle's algorithm off on every TCP socket Node-RED connects, as PETRA's MQTT client and the
// benchmark's paho clients have it, so neither side's latency includes a wait for the next packet.
"use strict";
const net = require("net");
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
    this.once("connect", () => this.setNoDelay(true));
    return connect.apply(this, args);
};
