import Foundation

/// PEM certificate chain and private key of an HTTPS listener.
public struct TLSFiles: Sendable, Equatable {
    public let certificate: String
    public let key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// The query string of a request URL.
public enum QueryString {
    /// Decodes `a=1&b=x%20y` (with `+` as space); the last of repeated names wins, a name without `=` is "".
    public static func parse(_ query: String?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for part in query.split(separator: "&") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            result[decode(pieces[0])] = pieces.count > 1 ? decode(pieces[1]) : ""
        }
        return result
    }
}
