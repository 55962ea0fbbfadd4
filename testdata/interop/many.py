# many.py: the child end of TestInteropSendMany, on descriptor 3. Echoes
# argv[1] messages with recv_bytes/send_bytes, says hello with a pickle,
# then echoes argv[2] objects with recv/send.
conn = fdconn(3)
for i in range(int(sys.argv[1])):
    conn.send_bytes(conn.recv_bytes())
conn.send("hello")
for i in range(int(sys.argv[2])):
    conn.send(conn.recv())
out("done")
