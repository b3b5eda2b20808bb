/// fasttemplate, as Argo CD uses it: `{{ key }}` replaced by the string parameter `key` (tag trimmed of
/// whitespace, exact flat key, case-sensitive). An unknown key, or one whose value is not a string, leaves the
/// tag untouched, whitespace included. Single pass: substituted values are not rendered again. An unclosed
/// `{{` is an error.
///
/// ```swift
/// let t = try FastTemplate("{{path.basename}}-{{ name }}")
/// t.render(["path.basename": "web", "name": "prod"])  // "web-prod"
/// ```
public struct FastTemplate: Sendable, Hashable {
    enum Segment: Sendable, Hashable {
        case text(String)
        case tag(key: String, raw: String)
    }

    let segments: [Segment]
    public let source: String

    /// True when the text has no tag, so rendering returns it unchanged.
    public var isConstant: Bool { segments.allSatisfy { if case .text = $0 { return true } else { return false } } }

    public init(_ source: String) throws {
        self.source = source
        var segments: [Segment] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError(.parse, "cannot find end tag=\"}}\" in the template=\"\(source)\" starting from \"\(rest[open.lowerBound...])\"")
            }
            let inner = rest[open.upperBound..<close.lowerBound]
            segments.append(.tag(key: inner.trimmingCharacters(in: .whitespaces), raw: String(rest[open.lowerBound..<close.upperBound])))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
    }

    /// Renders with a flat parameter lookup.
    public func render(_ lookup: (String) -> String?) -> String {
        if segments.count == 1 {
            switch segments[0] {
            case .text(let t): return t
            // A lone tag returns the parameter's own string: no copy, storage shared.
            case .tag(let key, let raw): return lookup(key) ?? raw
            }
        }
        var out = ""
        for segment in segments {
            switch segment {
            case .text(let t): out += t
            case .tag(let key, let raw): out += lookup(key) ?? raw
            }
        }
        return out
    }

    public func render(_ params: [String: String]) -> String {
        render { params[$0] }
    }
}

extension Substring {
    func trimmingCharacters(in set: WhitespaceSet) -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

enum WhitespaceSet { case whitespaces }
