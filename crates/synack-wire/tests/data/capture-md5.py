import socket, struct, time
TCP_MD5SIG=14
def md5sig(sock, addr, key):
    ss = struct.pack('=HH4s', socket.AF_INET, 0, socket.inet_aton(addr)) + b'\0'*(128-8)
    v = ss + struct.pack('=BBHI', 0, 0, len(key), 0) + key.ljust(80, b'\0')
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, v)
key=b'synack-md5-test'
srv=socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1)
md5sig(srv,'127.0.0.1',key); srv.bind(('127.0.0.1',47179)); srv.listen(1)
c=socket.socket(); md5sig(c,'127.0.0.1',key); c.connect(('127.0.0.1',47179))
a,_=srv.accept(); c.send(b'hello, signed world'); a.recv(100); c.close(); a.close(); srv.close()
