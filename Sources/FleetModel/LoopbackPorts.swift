import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A free loopback TCP port: bound on 127.0.0.1 with port 0, read back, released. Another process may take it
/// before the caller binds it; callers that can should bind port 0 themselves and read the port back.
public func freeLoopbackPort() -> Int { freeLoopbackPorts(1)[0] }

/// `count` distinct free loopback ports: every socket stays bound until all are picked, so no port is given twice
/// (separate calls of `freeLoopbackPort` may return the same one).
public func freeLoopbackPorts(_ count: Int) -> [Int] {
    var sockets: [Int32] = []
    defer { for fd in sockets { close(fd) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        sockets.append(fd)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        ports.append(Int(UInt16(bigEndian: addr.sin_port)))
    }
    return ports
}
