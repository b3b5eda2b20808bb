import FleetModel
import Foundation
import Yams

/// Reads user YAML into typed values while keeping each value's line and column, so that every problem
/// names the file, the line and the field. Problems are collected, not thrown one by one.
final class YAMLReader {
    let file: String?
    var problems: [FieldProblem] = []
    /// Nodes visited; a bound against alias bombs that expand exponentially when walked.
    private var budget = 1_000_000

    init(file: String?) {
        self.file = file
    }

    /// Parses every document of `text`. Syntax errors become one problem with the line and column.
    static func documents(_ text: String, file: String?) throws -> [Node] {
        do {
            var result: [Node] = []
            // Scalars are typed by YAMLValue from their text and style, so Yams' regex tag resolution is not
            // needed; the encoding is named so Yams does not read the environment on every parse.
            var sequence = try Yams.compose_all(yaml: text, .basic, .default, .utf8)
            while let node = sequence.next() { result.append(node) }
            // The sequence stops at the first error and keeps it rather than throwing.
            if let error = sequence.error { throw error }
            return result
        } catch let error as YamlError {
            throw InputError([syntaxProblem(error, file: file)])
        }
    }

    static func syntaxProblem(_ error: YamlError, file: String?) -> FieldProblem {
        func problem(_ what: String, _ context: YamlError.Context?, _ mark: Mark) -> FieldProblem {
            let ctx = context.map { "\($0.text) " } ?? ""
            return FieldProblem(field: "", message: "YAML syntax error: \(ctx)\(what)",
                                location: SourceLocation(file: file, line: mark.line, column: mark.column))
        }
        switch error {
        case let .scanner(context, what, mark, _), let .parser(context, what, mark, _), let .composer(context, what, mark, _):
            return problem(what, context, mark)
        case let .duplicatedKeysInMapping(duplicates, context):
            return FieldProblem(field: "", message: "YAML has duplicate keys \(duplicates.sorted().joined(separator: ", ")) \(context.text)",
                                location: SourceLocation(file: file, line: context.mark.line, column: context.mark.column))
        default:
            return FieldProblem(field: "", message: "YAML error: \(error)", location: file.map { SourceLocation(file: $0, line: 1, column: 1) })
        }
    }

    func location(_ node: Node) -> SourceLocation? {
        node.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) }
    }

    func report(_ field: String, _ message: String, at node: Node?) {
        problems.append(FieldProblem(field: field, message: message, location: node.flatMap(location)))
    }

    func isNull(_ node: Node) -> Bool {
        if case let .scalar(s) = node { return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) }
        return false
    }

    private func spend(_ node: Node) -> Bool {
        budget -= 1
        if budget == 0 { report("", "document is too large or expands too far through aliases", at: node) }
        return budget > 0
    }

    /// Key/value pairs of a mapping; reports and returns nil if `node` is not a mapping.
    func mapping(_ node: Node, field: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard spend(node) else { return nil }
        if isNull(node) { return [] }
        guard case let .mapping(m) = node else {
            report(field, "expected a mapping (key: value), found \(kindName(node))", at: node)
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (k, v) in m {
            guard case let .scalar(ks) = k else {
                report(field, "mapping keys must be strings", at: k)
                continue
            }
            pairs.append((ks.string, k, v))
        }
        return pairs
    }

    func sequence(_ node: Node, field: String) -> [Node]? {
        guard spend(node) else { return nil }
        if isNull(node) { return [] }
        guard case let .sequence(s) = node else {
            report(field, "expected a list, found \(kindName(node))", at: node)
            return nil
        }
        return Array(s)
    }

    func string(_ node: Node, field: String) -> String? {
        guard spend(node) else { return nil }
        guard case let .scalar(s) = node else {
            report(field, "expected a string, found \(kindName(node))", at: node)
            return nil
        }
        if isNull(node) { return nil }
        return s.string
    }

    func bool(_ node: Node, field: String) -> Bool? {
        guard case let .scalar(s) = node else {
            report(field, "expected true or false, found \(kindName(node))", at: node)
            return nil
        }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report(field, "expected true or false, found '\(s.string)'", at: node)
            return nil
        }
    }

    /// A map of strings (labels, annotations, stringData). Scalars of other types keep their written form.
    func stringMap(_ node: Node, field: String) -> [String: String] {
        guard let pairs = mapping(node, field: field) else { return [:] }
        var result: [String: String] = [:]
        for (key, _, value) in pairs {
            guard case let .scalar(s) = value else {
                report("\(field).\(key)", "expected a string value, found \(kindName(value))", at: value)
                continue
            }
            result[key] = isNull(value) ? "" : s.string
        }
        return result
    }

    func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return "'\(s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string)'"
        case .alias: return "an alias"
        }
    }
}

/// Where files named inside a config file are read from. Relative paths are resolved against `baseDirectory`.
public protocol FileSource: Sendable {
    func read(_ path: String, relativeTo baseDirectory: String?) throws -> Data
}

/// Reads nothing: for input from the hub's API, where credentials come by value and a path would make the hub
/// read its own files on a caller's behalf.
public struct NoFiles: FileSource {
    public init() {}

    public func read(_ path: String, relativeTo baseDirectory: String?) throws -> Data {
        throw InputError(field: "", message: "file paths are not accepted through the API: give the value itself (token, caData, certData, keyData)")
    }
}

/// Reads from the local filesystem.
public struct LocalFiles: FileSource {
    public init() {}

    public func read(_ path: String, relativeTo baseDirectory: String?) throws -> Data {
        let full = FilePaths.resolve(path, relativeTo: baseDirectory)
        guard let data = FileManager.default.contents(atPath: full) else {
            throw InputError(field: "", message: "cannot read file '\(full)'")
        }
        return data
    }
}

/// Path helpers as plain string operations. (`NSString.deletingLastPathComponent` traps on some inputs
/// in this Foundation, e.g. a one-character relative path.)
public enum FilePaths {
    /// The directory part of `path`, or nil when it has none.
    public static func directory(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` made absolute against `base` (when relative), with a leading `~/` expanded to $HOME.
    public static func resolve(_ path: String, relativeTo base: String?) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/") {
            path = DataDirectory.home(environment: ProcessInfo.processInfo.environment, fallback: FileManager.default.homeDirectoryForCurrentUser.path)
                + path.dropFirst()
        }
        guard !path.hasPrefix("/"), let base, !base.isEmpty else { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }
}

extension YAMLReader {
    /// A Kubernetes Secret's values: `data` decoded from base64 (a value that is not is reported under
    /// `DISPLAY.data.KEY`, never shown), then `stringData` over it, as the API server merges them.
    func secretValues(data: Node?, stringData: [String: String], display: String) -> [String: String] {
        var values: [String: String] = [:]
        if let data {
            for (k, v) in stringMap(data, field: "\(display).data") {
                guard let decoded = Data(base64Encoded: v, options: .ignoreUnknownCharacters), let text = String(data: decoded, encoding: .utf8) else {
                    report("\(display).data.\(k)", "is not valid base64", at: data)
                    continue
                }
                values[k] = text
            }
        }
        values.merge(stringData) { _, new in new }
        return values
    }
}
