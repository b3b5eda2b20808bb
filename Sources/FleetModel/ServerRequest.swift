/// An HTTP request as a server of this project sees it (the hub's API, the cluster simulator), independent of
/// any server framework, so handlers are tested without sockets.
public struct ServerRequest: Sendable {
    static func split(_ path: String) -> [Substring] { path.split(separator: "/") }

    public var method: String
    public var path: String { didSet { segments = Self.split(path) } }
    /// The path's `/`-separated parts, split once.
    public private(set) var segments: [Substring] = []
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The client's address (IP), when the server knows it.
    public var remoteAddress: String?
    /// True once the client has gone away: long work for this request may stop.
    public var isCancelled: @Sendable () -> Bool = { false }

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = [],
                remoteAddress: String? = nil) {
        self.remoteAddress = remoteAddress
        self.method = method
        self.path = path
        self.segments = Self.split(path)
        self.query = query
        self.headers = headers
        self.body = body
    }
}
