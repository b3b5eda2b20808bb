import FleetModel

/// What the API server answers, decoded: discovery documents, list pages, watch events and the lines of a
/// watch stream. Pure, no I/O — `KubeClient` and `ClusterCache` read the network through it, and the fuzz
/// target `kube` feeds it whatever a hostile or broken server could send.
public enum KubeDecoding {
    /// The group versions `/apis` lists (the preferred version of each group, every version when a group names
    /// none), after the core group's `v1`.
    public static func groupVersions(_ apis: JSONValue) -> [(group: String, version: String)] {
        var found: [(String, String)] = [("", "v1")]
        for group in apis["groups"]?.arrayValue ?? [] {
            guard let name = group["name"]?.stringValue, !name.isEmpty else { continue }
            let preferred = group.value(at: ["preferredVersion", "version"])?.stringValue
            for v in group["versions"]?.arrayValue ?? [] {
                if let version = v["version"]?.stringValue, !version.isEmpty, version == preferred || preferred == nil {
                    found.append((name, version))
                }
            }
        }
        return found
    }

    /// The resources of one group version's `APIResourceList` (subresources such as `deployments/scale` left out).
    public static func resources(_ list: JSONValue, group: String, version: String) -> [APIResource] {
        (list["resources"]?.arrayValue ?? []).compactMap { r in
            guard let name = r["name"]?.stringValue, !name.isEmpty, !name.contains("/"),
                  let kind = r["kind"]?.stringValue, !kind.isEmpty else { return nil }
            return APIResource(group: group, version: version, kind: kind, name: name,
                               namespaced: r["namespaced"]?.boolValue ?? false,
                               verbs: r["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }

    /// One page of a list: its items, the list's resourceVersion and the token of the next page (nil on the last).
    public struct ListPage: Sendable {
        public let items: [JSONValue]
        public let resourceVersion: String
        public let continueToken: String?

        public init(_ page: JSONValue) {
            items = page["items"]?.arrayValue ?? []
            resourceVersion = page.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            continueToken = page.value(at: ["metadata", "continue"])?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// One event of a watch stream.
    public enum WatchEvent: Sendable {
        case change(CacheIndex.Change, JSONValue)
        /// A bookmark: the stream is current up to this resourceVersion.
        case bookmark(resourceVersion: String)
        /// 410 Gone: the resourceVersion the watch started from is too old; list again.
        case expired
        /// Any other error the server reports in the stream.
        case failed(String)

        /// Decodes one line; nil when it is not an event (no `type` or `object`, or a type this client ignores).
        /// A line that is not JSON throws.
        public static func parse(_ line: ArraySlice<UInt8>) throws -> WatchEvent? {
            let event = try JSONParser.parse(String(decoding: line, as: UTF8.self))
            guard let type = event["type"]?.stringValue, let object = event["object"] else { return nil }
            switch type {
            case "ADDED": return .change(.added, object)
            case "MODIFIED": return .change(.modified, object)
            case "DELETED": return .change(.deleted, object)
            case "BOOKMARK":
                return object.value(at: ["metadata", "resourceVersion"])?.stringValue.map { .bookmark(resourceVersion: $0) }
            case "ERROR":
                if case .int(410)? = object["code"] { return .expired }
                return .failed(String((object["message"]?.stringValue ?? "watch error").prefix(300)))
            default:
                return nil
            }
        }
    }

    /// Splits a stream's bytes into lines (a watch sends one JSON event per line). A line longer than
    /// `maxLineBytes` is refused: no object the API server stores is that large (etcd refuses requests past
    /// 1.5 MiB by default), so a server sending one is broken or hostile, and buffering it would grow without end.
    public struct LineSplitter: Sendable {
        public static let defaultMaxLineBytes = 64 << 20

        public struct LineTooLong: Error, CustomStringConvertible, Sendable {
            public let limit: Int
            public var description: String { "a watch event is longer than \(limit >> 20) MiB" }
        }

        public let maxLineBytes: Int
        private var pending: [UInt8] = []

        public init(maxLineBytes: Int = LineSplitter.defaultMaxLineBytes) { self.maxLineBytes = maxLineBytes }

        /// Bytes of an incomplete line held.
        public var pendingCount: Int { pending.count }

        /// Feeds a chunk; `line` gets each complete line (without its newline; empty lines are skipped).
        public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, line: (ArraySlice<UInt8>) -> Void) throws(LineTooLong) {
            var start = bytes.startIndex
            for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
                if pending.isEmpty {
                    if i > start {
                        guard i - start <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
                        line(ArraySlice(bytes[start..<i]))
                    }
                } else {
                    guard pending.count + (i - start) <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
                    pending.append(contentsOf: bytes[start..<i])
                    line(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            if start < bytes.endIndex {
                guard pending.count + (bytes.endIndex - start) <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
                pending.append(contentsOf: bytes[start...])
            }
        }

        /// The stream ended: what is left is the last line, when there is one.
        public mutating func finish() -> ArraySlice<UInt8>? {
            defer { pending = [] }
            return pending.isEmpty ? nil : pending[...]
        }
    }
}
