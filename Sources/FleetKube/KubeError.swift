import FleetModel

/// A Kubernetes API call failed. Names the cluster and the object; carries the API's reason and, for
/// Invalid, each field cause. Never includes a credential.
public struct KubeError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case notFound = "NotFound"
        case alreadyExists = "AlreadyExists"
        case conflict = "Conflict"
        case invalid = "Invalid"
        case badRequest = "BadRequest"
        case forbidden = "Forbidden"
        case unauthorized = "Unauthorized"
        case timeout = "Timeout"
        case tls = "TLS"
        case unreachable = "Unreachable"
        case unknownKind = "UnknownKind"
        /// Refused before it was sent: this hub replica no longer holds the cluster's lease.
        case fenced = "Fenced"
        case other = "Error"
    }

    public struct Cause: Sendable, Equatable {
        public let field: String
        public let reason: String
        public let message: String
    }

    public let code: Code
    public let cluster: String
    public let object: String
    public let message: String
    public let causes: [Cause]
    public let status: Int

    public var description: String {
        let what = object.isEmpty ? "" : " \(object):"
        var text = "cluster \(cluster):\(what) \(code.rawValue): \(message)"
        if !causes.isEmpty && !message.contains(causes[0].field) {
            text += " (" + causes.map { "\($0.field): \($0.message)" }.joined(separator: "; ") + ")"
        }
        return text
    }

    /// From an API `Status` answer (or a non-JSON error body).
    static func from(_ response: HTTPResponse, cluster: String, object: String) -> KubeError {
        from(status: response.status, body: response.body, cluster: cluster, object: object)
    }

    /// From an HTTP status and its body (a `Status` object, or anything else a server or proxy answers).
    public static func from(status httpStatus: Int, body: [UInt8], cluster: String, object: String) -> KubeError {
        let text = String(decoding: body, as: UTF8.self)
        // A body that is not JSON is an error page of a proxy or a broken server: it is not parsed further.
        let status = (try? JSONParser.parse(text)) ?? .null
        // Not trusted to be small: a Status message is kept to 4,000 characters, any other body to 300.
        // `error` is how Flotilla's hub words it (a cluster reached through the hub's proxy).
        let message = (status["message"] ?? status["error"])?.stringValue.map { String($0.prefix(4000)) } ?? String(text.prefix(300))
        let reason = status["reason"]?.stringValue ?? ""
        let causes = (status.value(at: ["details", "causes"])?.arrayValue ?? []).map {
            Cause(field: $0["field"]?.stringValue ?? "", reason: $0["reason"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "")
        }
        let code: Code
        switch httpStatus {
        case 401: code = .unauthorized
        case 403: code = .forbidden
        case 404: code = .notFound
        case 409: code = reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 422: code = .invalid
        case 400: code = .badRequest
        case 504, 408: code = .timeout
        default: code = Code(rawValue: reason) ?? .other
        }
        return KubeError(code: code, cluster: cluster, object: object, message: message, causes: causes, status: httpStatus)
    }

    static func transport(_ error: TransportError, cluster: String, object: String) -> KubeError {
        let code: Code
        switch error.kind {
        case .timeout: code = .timeout
        case .tls: code = .tls
        case .unreachable: code = .unreachable
        case .credentials: code = .unauthorized
        case .other: code = .other
        }
        return KubeError(code: code, cluster: cluster, object: object, message: error.message, causes: [], status: 0)
    }
}
