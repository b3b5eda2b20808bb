import FleetModel
import Foundation

/// Sprig's regular expressions, on the linear-time RE2 engine (`GoRegex`). Their cost is charged before
/// they run (`RenderBudget.precheck`).
enum SprigRegex {
    static func s(_ v: TemplateValue) -> String { v.stringValue ?? "" }
    static func scalars(_ v: TemplateValue) -> [Unicode.Scalar] { Array(s(v).unicodeScalars) }

    static let family: [TemplateFunction] = [
        pair("regexMatch", [.string, .string]) { a in
            .bool(try GoRegex(s(a[0])).search(scalars(a[1]), from: 0) != nil)
        },
        pair("regexFind", [.string, .string]) { a in
            let text = scalars(a[1])
            guard let m = try GoRegex(s(a[0])).search(text, from: 0) else { return .string("") }
            return .string(GoRegex.substring(text, m))
        },
        pair("regexFindAll", [.string, .string, .int]) { a in
            let text = scalars(a[1])
            return .strings(try GoRegex(s(a[0])).allMatches(text, limit: SprigStrings.i(a[2])).map { GoRegex.substring(text, $0) })
        },
        pair("regexReplaceAll", [.string, .string, .string]) { a in
            .string(try GoRegex(s(a[0])).replaceAll(scalars(a[1]), with: s(a[2]), literal: false))
        },
        pair("regexReplaceAllLiteral", [.string, .string, .string]) { a in
            .string(try GoRegex(s(a[0])).replaceAll(scalars(a[1]), with: s(a[2]), literal: true))
        },
        pair("regexSplit", [.string, .string, .int]) { a in
            .strings(try GoRegex(s(a[0])).split(scalars(a[1]), SprigStrings.i(a[2]), patternIsEmpty: s(a[0]).isEmpty))
        },
    ].flatMap { $0 } + [
        F("regexQuoteMeta", [.string]) { a, _ in
            .string(String(s(a[0]).flatMap { c -> String in "\\.+*?()|[]{}^$".contains(c) ? "\\" + String(c) : String(c) }))
        },
    ]

    /// A function and its `must` twin (both fail on a bad pattern).
    static func pair(_ name: String, _ params: [ParamType], _ body: @escaping @Sendable ([TemplateValue]) throws -> TemplateValue) -> [TemplateFunction] {
        let must = "must" + name.prefix(1).uppercased() + name.dropFirst()
        return [F(name, params) { a, _ in try body(a) }, F(must, params) { a, _ in try body(a) }]
    }
}
