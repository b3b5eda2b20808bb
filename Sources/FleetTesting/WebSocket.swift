import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking WebSocket client (RFC 6455) for loopback test peers: the Chrome DevTools protocol. Text
/// messages only; fragmented messages are joined, pings answered. No TLS, no extensions.
public final class WebSocket {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `ws://HOST:PORT/PATH`.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "ws", let host = components.host, let port = components.port else {
            throw Failure("not a ws:// URL with a port: \(url)")
        }
        fd = try Self.connect(host: host, port: port)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let path = components.percentEncodedPath + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        try write(Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        let head = try readUntil(Array("\r\n\r\n".utf8), timeout: 10)
        let text = String(decoding: head, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 101") else {
            close()
            throw Failure("the WebSocket handshake was refused: \(text.prefix(200))")
        }
    }

    deinit { close() }

    private var closed = false

    public func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }

    static func connect(host: String, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            _ = Glibc.close(fd)
            throw Failure("not an IPv4 address: \(host)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            _ = Glibc.close(fd)
            throw Failure("cannot connect to \(host):\(port): errno \(errno)")
        }
        return fd
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes into the buffer, waiting up to `timeout` seconds.
    private func fill(timeout: Double) throws {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(max(0, timeout) * 1000))
        guard ready > 0 else { throw Failure("timed out after \(timeout) s waiting for the peer") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure("the peer closed the connection") }
        buffer.append(contentsOf: chunk[..<n])
    }

    private func readUntil(_ marker: [UInt8], timeout: Double) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let range = buffer.firstRange(of: marker) {
                let head = Array(buffer[..<range.upperBound])
                buffer.removeFirst(range.upperBound)
                return head
            }
            try fill(timeout: deadline.timeIntervalSinceNow)
        }
    }

    private func take(_ count: Int, deadline: Date) throws -> [UInt8] {
        while buffer.count < count { try fill(timeout: deadline.timeIntervalSinceNow) }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    private func frame(opcode: UInt8, _ payload: [UInt8]) throws {
        var out: [UInt8] = [0x80 | opcode]
        let n = payload.count
        if n < 126 {
            out.append(0x80 | UInt8(n))
        } else if n < 65536 {
            out.append(0x80 | 126)
            out += [UInt8(n >> 8), UInt8(n & 0xff)]
        } else {
            out.append(0x80 | 127)
            out += (0..<8).reversed().map { UInt8((UInt64(n) >> (8 * UInt64($0))) & 0xff) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out += mask
        out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(out)
    }

    public func send(_ text: String) throws { try frame(opcode: 0x1, Array(text.utf8)) }

    /// The next text message, waiting up to `timeout` seconds.
    public func receive(timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var message: [UInt8] = []
        while true {
            let head = try take(2, deadline: deadline)
            let fin = head[0] & 0x80 != 0, opcode = head[0] & 0x0f
            var length = Int(head[1] & 0x7f)
            if length == 126 {
                let b = try take(2, deadline: deadline)
                length = Int(b[0]) << 8 | Int(b[1])
            } else if length == 127 {
                length = try take(8, deadline: deadline).reduce(0) { $0 << 8 | Int($1) }
            }
            let mask = head[1] & 0x80 != 0 ? try take(4, deadline: deadline) : nil
            var payload = try take(length, deadline: deadline)
            if let mask { payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] } }
            switch opcode {
            case 0x8: throw Failure("the peer closed the WebSocket")
            case 0x9: try frame(opcode: 0xA, payload)
            case 0xA: break
            default:
                message += payload
                if fin { return String(decoding: message, as: UTF8.self) }
            }
        }
    }

    /// A plain HTTP GET on loopback (the DevTools' `/json` endpoints): the body.
    public static func httpGet(host: String, port: Int, path: String) throws -> String {
        let fd = try connect(host: host, port: port)
        defer { _ = Glibc.close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        // Until the connection closes, or the body reaches its Content-Length (the server may keep it open).
        while true {
            if let end = out.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: out[..<end.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                   let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                   out.count - end.upperBound >= length {
                    return String(decoding: out[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 10_000) > 0 else { throw Failure("timed out reading http://\(host):\(port)\(path)") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += chunk[..<n]
        }
        guard let end = out.firstRange(of: Array("\r\n\r\n".utf8)) else { throw Failure("no HTTP answer from http://\(host):\(port)\(path)") }
        return String(decoding: out[end.upperBound...], as: UTF8.self)
    }
}
