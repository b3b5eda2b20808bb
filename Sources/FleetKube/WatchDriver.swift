import CCurl
import FleetModel
import Foundation

/// Long-running HTTP streams (Kubernetes watches) on one thread for the whole process: a libcurl multi handle
/// drives every open stream, so thousands of watches hold no thread each and no worker of the hub.
public final class WatchDriver: @unchecked Sendable {
    public static let shared = WatchDriver()

    /// How a stream ended.
    public enum End: Sendable, Equatable {
        /// The server closed it after the body was complete (a watch's `timeoutSeconds`, a server restart).
        case closed(status: Int)
        /// The transport failed (connection refused or reset, TLS, timeout) or the stream was cancelled.
        case failed(String)
        case cancelled
    }

    /// One stream: its easy handle, the bytes of a line not yet complete, and where lines and the end go.
    final class Stream: @unchecked Sendable {
        let handle: UnsafeMutableRawPointer
        let headers: UnsafeMutablePointer<curl_slist>?
        let onLine: (ArraySlice<UInt8>, Int) -> Void
        let onEnd: (End) -> Void
        let transportAborted: AbortFlag
        let cancelled = AbortFlag()
        var lines = KubeDecoding.LineSplitter()
        /// Why the stream was refused while reading (a line past the limit); ends it as failed.
        var refused: String?

        init(handle: UnsafeMutableRawPointer, headers: UnsafeMutablePointer<curl_slist>?, transportAborted: AbortFlag,
             onLine: @escaping (ArraySlice<UInt8>, Int) -> Void, onEnd: @escaping (End) -> Void) {
            self.handle = handle
            self.headers = headers
            self.transportAborted = transportAborted
            self.onLine = onLine
            self.onEnd = onEnd
        }

        deinit {
            curl_easy_cleanup(handle)
            if let headers { curl_slist_free_all(headers) }
        }

        /// Splits what arrived into lines (a watch sends one JSON event per line). False ends the transfer.
        func received(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var status = 0
            fl_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            do {
                try lines.feed(bytes) { onLine($0, status) }
                return true
            } catch {
                refused = error.description
                return false
            }
        }
    }

    /// A stream's handle for cancelling it.
    public struct Handle: Sendable {
        let stream: Stream
        /// Ends the stream; its `onEnd` is called with `.cancelled` (on the driver's thread).
        public func cancel() { stream.cancelled.set(); WatchDriver.shared.wake() }
    }

    private let multi: UnsafeMutableRawPointer
    // `lock` guards `incoming`.
    private let lock = NSLock()
    private var incoming: [Stream] = []
    /// Streams in the multi handle, by easy handle; only the driver thread touches it.
    private var active: [UnsafeMutableRawPointer: Stream] = [:]
    private var thread: Thread?

    private init() {
        _ = curlReady
        multi = curl_multi_init()!
    }

    /// Number of open streams (metrics, tests).
    public var openStreams: Int { lock.withLock { activeCount + incoming.count } }
    private var activeCount = 0

    /// Opens `GET path` on `transport` as a stream; `onLine` gets each line with the HTTP status, `onEnd` once.
    /// Both run on the driver's thread and must not block.
    func open(_ transport: HTTPTransport, path: String, timeout: Double,
              onLine: @escaping (ArraySlice<UInt8>, Int) -> Void, onEnd: @escaping (End) -> Void) -> Handle {
        let h = curl_easy_init()!
        transport.configure(h)
        fl_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        var headers: UnsafeMutablePointer<curl_slist>?
        headers = curl_slist_append(headers, "Accept: application/json")
        if let token = transport.credentials.bearerToken { headers = curl_slist_append(headers, "Authorization: Bearer \(token)") }
        headers = curl_slist_append(headers, "User-Agent: flotilla/0.1")
        fl_curl_setopt_string(h, CURLOPT_URL, transport.requestBase + path)
        fl_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
        fl_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headers)
        let stream = Stream(handle: h, headers: headers, transportAborted: transport.aborted, onLine: onLine, onEnd: onEnd)
        let user = Unmanaged.passUnretained(stream).toOpaque()
        fl_curl_setopt_write(h) { ptr, size, count, user in
            guard let ptr, let user else { return 0 }
            let stream = Unmanaged<Stream>.fromOpaque(user).takeUnretainedValue()
            let n = size * count
            let kept = ptr.withMemoryRebound(to: UInt8.self, capacity: n) { stream.received(UnsafeBufferPointer(start: $0, count: n)) }
            return kept ? n : 0
        }
        fl_curl_setopt_pointer(h, CURLOPT_WRITEDATA, user)
        fl_curl_setopt_xferinfo(h) { user, _, _, _, _ in
            guard let user else { return 0 }
            let stream = Unmanaged<Stream>.fromOpaque(user).takeUnretainedValue()
            return stream.cancelled.isSet || stream.transportAborted.isSet ? 1 : 0
        }
        fl_curl_setopt_pointer(h, CURLOPT_XFERINFODATA, user)
        fl_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
        lock.withLock {
            incoming.append(stream)
            if thread == nil {
                let t = Thread { [unowned self] in self.loop() }
                t.name = "flotilla.watch"
                t.stackSize = 1 << 20
                thread = t
                t.start()
            }
        }
        wake()
        return Handle(stream: stream)
    }

    func wake() { curl_multi_wakeup(multi) }

    private func loop() {
        let m = multi
        while true {
            for stream in lock.withLock({ defer { incoming.removeAll() }; return incoming }) {
                active[stream.handle] = stream
                curl_multi_add_handle(m, stream.handle)
            }
            // Cancelled streams end now rather than at the next progress callback.
            for (handle, stream) in active where stream.cancelled.isSet {
                finish(handle, .cancelled)
            }
            lock.withLock { activeCount = active.count }
            var running: Int32 = 0
            curl_multi_perform(m, &running)
            var result = CURLE_OK
            while let done = fl_curl_multi_done(m, &result) {
                let handle = UnsafeMutableRawPointer(done)
                guard let stream = active[handle] else { continue }
                if result == CURLE_OK {
                    var status = 0
                    fl_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                    finish(handle, .closed(status: status))
                } else if stream.cancelled.isSet {
                    finish(handle, .cancelled)
                } else if let refused = stream.refused {
                    finish(handle, .failed(refused))
                } else {
                    finish(handle, .failed(String(cString: curl_easy_strerror(result))))
                }
            }
            curl_multi_poll(m, nil, 0, 1000, nil)
        }
    }

    private func finish(_ handle: UnsafeMutableRawPointer, _ end: End) {
        guard let stream = active.removeValue(forKey: handle) else { return }
        curl_multi_remove_handle(multi, handle)
        if case .closed = end, let last = stream.lines.finish() {
            var status = 0
            fl_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            stream.onLine(last, status)
        }
        stream.onEnd(end)
    }
}
