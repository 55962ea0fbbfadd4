package mpconn

// abstractSockets: Linux has abstract Unix socket names ("@name").
const abstractSockets = true
