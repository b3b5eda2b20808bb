import FleetModel
import Foundation

/// Sprig's defaults, logic and type inspection.
enum SprigDefaults {
    static let family: [TemplateFunction] = [
        F("default", [.any], variadic: .any) { a, _ in a.count < 2 || a[1].isEmpty ? a[0] : a[1] },
        F("empty", [.any]) { a, _ in .bool(a[0].isEmpty) },
        F("coalesce", [], variadic: .any) { a, _ in a.first { !$0.isEmpty } ?? .missing },
        F("all", [], variadic: .any) { a, _ in .bool(a.allSatisfy { !$0.isEmpty }) },
        F("any", [], variadic: .any) { a, _ in .bool(a.contains { !$0.isEmpty }) },
        F("ternary", [.any, .any, .bool]) { a, _ in a[2] == .bool(true) ? a[0] : a[1] },
        F("fail", [.string]) { a, _ in throw Sprig.fail(a[0].stringValue!) },
        F("typeOf", [.any]) { a, _ in .string(a[0].typeName) },
        F("typeIs", [.string, .any]) { a, _ in .bool(a[0].stringValue! == a[1].typeName) },
        F("typeIsLike", [.string, .any]) { a, _ in
            let t = a[1].typeName, target = a[0].stringValue!
            return .bool(target == t || "*" + target == t)
        },
        F("kindOf", [.any]) { a, _ in .string(a[0].kindName) },
        F("kindIs", [.string, .any]) { a, _ in .bool(a[0].stringValue! == a[1].kindName) },
        F("deepEqual", [.any, .any]) { a, _ in .bool(Sprig.deepEqual(a[0], a[1])) },
    ]
}

extension TemplateValue {
    static func == (a: TemplateValue, b: TemplateValue) -> Bool { Sprig.deepEqual(a, b) }
}
