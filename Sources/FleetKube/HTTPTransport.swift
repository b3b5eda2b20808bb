import CCurl
import FleetModel
import Foundation

/// An HTTP answer.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A transport failure before any HTTP status: connection refused, timeout, TLS.
struct TransportError: Error {
    enum Kind { case timeout, tls, unreachable, credentials, other }
    let kind: Kind
    let message: String
}

/// libcurl is initialised once per process, before any thread uses it.
let curlReady: Bool = {
    curl_global_init(fl_curl_global_default())
    return true
}()

/// HTTP over libcurl for one cluster: TLS with the cluster's CA, client certificate or bearer token, connection
/// reuse through a pool of easy handles (each keeps its connections alive), timeouts. Safe from many threads:
/// each request takes a handle from the pool and returns it.
public final class HTTPTransport: @unchecked Sendable {
    let server: String
    let credentials: ClusterCredentials
    let timeout: Double
    let connectTimeout: Double
    /// The largest response body read; a larger one fails the request (the server is not trusted to be small).
    let maxBodyBytes: Int

    // `lock` guards `idle`.
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []
    let aborted = AbortFlag()

    /// Ends every request in flight (within about a second: libcurl's progress callback) and every later
    /// one, with an `unreachable` error. For a cluster found dead, so requests already waiting on it do not
    /// hold their workers until the timeout. The transport is not usable afterwards.
    public func abortAll() { aborted.set() }

    /// The cluster's credential plugin, when its credentials name one.
    let exec: ExecCredentialSource?

    public init(server: String, credentials: ClusterCredentials, timeout: Double = 30, connectTimeout: Double = 5, maxBodyBytes: Int = Int.max,
                cluster: String = "", execPlugins: ExecPluginPolicy = .none) {
        self.maxBodyBytes = maxBodyBytes
        exec = credentials.exec.map {
            ExecCredentialSource.shared(config: $0, policy: execPlugins, cluster: cluster, server: server, caData: credentials.caData,
                                        tlsServerName: credentials.tlsServerName, insecure: credentials.insecureSkipTLSVerify)
        }
        _ = curlReady
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.credentials = credentials
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.connectTo = Self.connectTo(server: self.server, name: credentials.tlsServerName)
    }

    deinit {
        for h in idle { curl_easy_cleanup(h) }
        if let connectTo { curl_slist_free_all(connectTo) }
    }

    private func checkout() -> UnsafeMutableRawPointer {
        if let h = lock.withLock({ idle.popLast() }) { return h }
        let h = curl_easy_init()!
        configure(h)
        return h
    }

    /// Handles (each with its kept-alive connection) kept for reuse; more are closed when returned, so that a hub
    /// with thousands of clusters does not hold a burst's worth of connections to each one.
    static let maxIdleHandles = 8

    private func checkin(_ h: UnsafeMutableRawPointer) {
        let kept = lock.withLock { () -> Bool in
            guard idle.count < Self.maxIdleHandles else { return false }
            idle.append(h)
            return true
        }
        if !kept { curl_easy_cleanup(h) }
    }

    /// Options that stay for the handle's life: TLS material, auth, timeouts.
    func configure(_ h: UnsafeMutableRawPointer) {
        fl_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        fl_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        fl_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        fl_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        fl_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        if credentials.insecureSkipTLSVerify {
            fl_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            fl_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if var ca = credentials.caData {
            ca.withUnsafeMutableBytes { _ = fl_curl_setopt_blob(h, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count) }
        }
        if var cert = credentials.certData, var key = credentials.keyData {
            cert.withUnsafeMutableBytes { _ = fl_curl_setopt_blob(h, CURLOPT_SSLCERT_BLOB, $0.baseAddress, $0.count) }
            fl_curl_setopt_string(h, CURLOPT_SSLCERTTYPE, "PEM")
            key.withUnsafeMutableBytes { _ = fl_curl_setopt_blob(h, CURLOPT_SSLKEY_BLOB, $0.baseAddress, $0.count) }
            fl_curl_setopt_string(h, CURLOPT_SSLKEYTYPE, "PEM")
        }
        if let user = credentials.username, let password = credentials.password, credentials.bearerToken == nil {
            fl_curl_setopt_string(h, CURLOPT_USERPWD, "\(user):\(password)")
        }
        if let connectTo { fl_curl_setopt_slist(h, CURLOPT_CONNECT_TO, connectTo) }
        // Argo CD's proxyUrl: requests to this cluster go through the proxy (http, https or socks5).
        if let proxy = credentials.proxyURL { fl_curl_setopt_string(h, CURLOPT_PROXY, proxy) }
    }

    /// With a TLS server name: requests go to `https://NAME:PORT`, connected to the URL's real host, so the
    /// certificate is verified against NAME (curl's CONNECT_TO).
    private let connectTo: UnsafeMutablePointer<curl_slist>?

    private static func connectTo(server: String, name: String?) -> UnsafeMutablePointer<curl_slist>? {
        guard let name, let url = URLComponents(string: server), let host = url.host else { return nil }
        let port = url.port ?? (url.scheme == "https" ? 443 : 80)
        return curl_slist_append(nil, "\(name):\(port):\(host):\(port)")
    }

    var requestBase: String {
        guard let name = credentials.tlsServerName, var url = URLComponents(string: server) else { return server }
        url.host = name
        return url.string ?? server
    }

    private final class Sink {
        var data: [UInt8] = []
        let aborted: AbortFlag
        let limit: Int
        var tooLarge = false
        init(aborted: AbortFlag, limit: Int) { self.aborted = aborted; self.limit = limit }
    }

    /// Performs one request. `path` starts with `/` and may carry a query. With a credential plugin: its
    /// credential is sent, and a 401 answer to it runs the plugin once more and sends the request again.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
                        accept: String = "application/json", headers extra: [String: String] = [:]) throws -> HTTPResponse {
        guard let exec else { return try perform(method, path, body: body, contentType: contentType, accept: accept, headers: extra, credential: nil) }
        func credential() throws -> ExecCredential {
            do { return try exec.current() } catch {
                throw TransportError(kind: .credentials, message: "cannot get credentials for the cluster: \(error)")
            }
        }
        let sent = try credential()
        let first = try perform(method, path, body: body, contentType: contentType, accept: accept, headers: extra, credential: sent)
        guard first.status == 401 else { return first }
        exec.refused(sent)
        return try perform(method, path, body: body, contentType: contentType, accept: accept, headers: extra, credential: try credential())
    }

    private func perform(_ method: String, _ path: String, body: [UInt8]?, contentType: String?, accept: String, headers extra: [String: String],
                         credential: ExecCredential?) throws -> HTTPResponse {
        let cpuStart = HTTPTransport.threadCPUNanoseconds()
        defer { HTTPTransport.exchangeCPU.add(HTTPTransport.threadCPUNanoseconds() &- cpuStart) }
        let h = checkout()
        var healthy = true
        defer { if healthy { checkin(h) } else { curl_easy_cleanup(h) } }
        if aborted.isSet { throw TransportError(kind: .unreachable, message: "aborted: the cluster was found unreachable") }
        let sink = Sink(aborted: aborted, limit: maxBodyBytes)
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        var headers: UnsafeMutablePointer<curl_slist>?
        headers = curl_slist_append(headers, "Accept: \(accept)")
        if let contentType { headers = curl_slist_append(headers, "Content-Type: \(contentType)") }
        if let token = credential?.token ?? credentials.bearerToken { headers = curl_slist_append(headers, "Authorization: Bearer \(token)") }
        // A plugin's client certificate is set per request: it changes when the plugin runs again (libcurl
        // reuses a connection only for the same TLS client settings).
        if let credential, var cert = credential.clientCertificateData, var key = credential.clientKeyData {
            cert.withUnsafeMutableBytes { _ = fl_curl_setopt_blob(h, CURLOPT_SSLCERT_BLOB, $0.baseAddress, $0.count) }
            fl_curl_setopt_string(h, CURLOPT_SSLCERTTYPE, "PEM")
            key.withUnsafeMutableBytes { _ = fl_curl_setopt_blob(h, CURLOPT_SSLKEY_BLOB, $0.baseAddress, $0.count) }
            fl_curl_setopt_string(h, CURLOPT_SSLKEYTYPE, "PEM")
        }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { headers = curl_slist_append(headers, "\(name): \(value)") }
        headers = curl_slist_append(headers, "User-Agent: flotilla/0.1")
        headers = curl_slist_append(headers, "Expect:")
        defer { curl_slist_free_all(headers) }

        fl_curl_setopt_string(h, CURLOPT_URL, requestBase + path)
        fl_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
        fl_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headers)
        fl_curl_setopt_write(h) { ptr, size, count, user in
            guard let ptr, let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            let n = size * count
            if sink.data.count + n > sink.limit { sink.tooLarge = true; return 0 }  // curl stops with a write error
            ptr.withMemoryRebound(to: UInt8.self, capacity: n) { sink.data.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        fl_curl_setopt_pointer(h, CURLOPT_WRITEDATA, box.toOpaque())
        fl_curl_setopt_xferinfo(h) { user, _, _, _, _ in
            guard let user else { return 0 }
            return Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue().aborted.isSet ? 1 : 0
        }
        fl_curl_setopt_pointer(h, CURLOPT_XFERINFODATA, box.toOpaque())
        fl_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
        let code: CURLcode
        if let body {
            fl_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, body.count)
            code = body.withUnsafeBufferPointer { buf in
                fl_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress))
                let c = curl_easy_perform(h)
                fl_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, nil)
                return c
            }
            fl_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, -1)
        } else {
            fl_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
            fl_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
            code = curl_easy_perform(h)
        }
        fl_curl_setopt_slist(h, CURLOPT_HTTPHEADER, nil)
        guard code == CURLE_OK else {
            healthy = false
            if sink.tooLarge { throw TransportError(kind: .other, message: "the response is larger than \(maxBodyBytes) bytes") }
            let message = String(cString: curl_easy_strerror(code))
            switch code {
            case CURLE_ABORTED_BY_CALLBACK: throw TransportError(kind: .unreachable, message: "aborted: the cluster was found unreachable")
            case CURLE_OPERATION_TIMEDOUT: throw TransportError(kind: .timeout, message: "timed out after \(timeout)s (\(message))")
            case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE:
                throw TransportError(kind: .tls, message: "TLS failure: \(message)")
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
                throw TransportError(kind: .unreachable, message: message)
            default: throw TransportError(kind: .other, message: message)
            }
        }
        var status = 0
        fl_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, body: sink.data)
    }
}

extension HTTPTransport {
    /// CPU time the calling threads spent inside HTTP exchanges (libcurl, sockets, TLS), process-wide, so
    /// benchmarks can tell the hub's own work from the cost of talking to API servers.
    public static let exchangeCPU = CPUCounter()

    static func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// A thread-safe running total of CPU nanoseconds.
public final class CPUCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total: UInt64 = 0
    func add(_ nanoseconds: UInt64) { lock.withLock { total &+= nanoseconds } }
    public var seconds: Double { lock.withLock { Double(total) / 1e9 } }
}

/// A flag set once, read from libcurl's progress callback.
final class AbortFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

extension TransportError: CustomStringConvertible {
    var description: String { message }
}
