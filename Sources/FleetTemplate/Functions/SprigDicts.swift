import FleetModel
import Foundation

/// Sprig's dict functions. Dicts are shared references: `set`, `unset`, `merge` change the dict given.
enum SprigDicts {
    static let family: [TemplateFunction] = [
        F("dict", [], variadic: .any) { a, _ in
            let m = TemplateMap()
            var i = 0
            while i < a.count {
                m[Sprig.str(a[i])] = i + 1 < a.count ? a[i + 1] : .string("")
                i += 2
            }
            return .map(m)
        },
        F("get", [.map, .string]) { a, _ in dict(a[0])?[a[1].stringValue!] ?? .string("") },
        F("set", [.map, .string, .any]) { a, _ in
            guard let m = dict(a[0]) else { throw Sprig.fail("assignment to entry in nil map") }
            m[a[1].stringValue!] = a[2]
            return a[0]
        },
        F("unset", [.map, .string]) { a, _ in
            dict(a[0])?.entries[a[1].stringValue!] = nil
            return a[0]
        },
        F("hasKey", [.map, .string]) { a, _ in .bool(dict(a[0])?[a[1].stringValue!] != nil) },
        F("pluck", [.string], variadic: .map) { a, _ in
            Sprig.list(a.dropFirst().compactMap { dict($0)?[a[0].stringValue!] })
        },
        F("keys", [], variadic: .map) { a, _ in .strings(a.flatMap { dict($0)?.sortedKeys ?? [] }) },
        F("values", [.map]) { a, _ in
            guard let m = dict(a[0]) else { return Sprig.list([]) }
            return Sprig.list(m.sortedKeys.map { m.entries[$0]! })
        },
        F("pick", [.map], variadic: .string) { a, _ in
            let out = TemplateMap()
            if let m = dict(a[0]) { for k in a.dropFirst().compactMap(\.stringValue) { if let v = m[k] { out[k] = v } } }
            return .map(out)
        },
        F("omit", [.map], variadic: .string) { a, _ in
            let drop = Set(a.dropFirst().compactMap(\.stringValue))
            return .map(TemplateMap(dict(a[0])?.entries.filter { !drop.contains($0.key) } ?? [:]))
        },
        F("merge", [.map], variadic: .map) { a, _ in try merge(a, overwrite: false) },
        F("mustMerge", [.map], variadic: .map) { a, _ in try merge(a, overwrite: false) },
        F("mergeOverwrite", [.map], variadic: .map) { a, _ in try merge(a, overwrite: true) },
        F("mustMergeOverwrite", [.map], variadic: .map) { a, _ in try merge(a, overwrite: true) },
        F("dig", [], variadic: .any) { a, _ in
            guard a.count >= 3 else { throw Sprig.fail("dig needs at least three arguments") }
            guard let root = dict(a[a.count - 1]) else { throw Sprig.fail("interface conversion: interface {} is \(a[a.count - 1].typeName), not map[string]interface {}") }
            let fallback = a[a.count - 2]
            var current = root
            let keys = try a.dropLast(2).map { k -> String in
                guard let s = k.stringValue else { throw Sprig.fail("interface conversion: interface {} is \(k.typeName), not string") }
                return s
            }
            for (i, k) in keys.enumerated() {
                guard let step = current[k] else { return fallback }
                if i == keys.count - 1 { return step }
                guard let next = dict(step) else { throw Sprig.fail("interface conversion: interface {} is \(step.typeName), not map[string]interface {}") }
                current = next
            }
            return fallback
        },
        F("deepCopy", [.any]) { a, _ in a[0].deepCopy },
        F("mustDeepCopy", [.any]) { a, _ in
            if a[0].isNil { throw Sprig.fail("copy: Must not pass nil") }
            return a[0].deepCopy
        },
    ]

    static func dict(_ v: TemplateValue) -> TemplateMap? { Sprig.map(v) }

    /// mergo's Merge (and WithOverride) as Sprig uses it: keys missing from the destination, or empty there,
    /// are filled; dicts on both sides merge recursively; with overwrite, non-empty source values replace
    /// (nested ones always). Dicts taken from a source are shared with it, as mergo shares them.
    static func merge(_ a: [TemplateValue], overwrite: Bool) throws -> TemplateValue {
        guard let dst = dict(a[0]) else { throw Sprig.fail("src and dst must be of same type") }
        for src in a.dropFirst() {
            guard let s = dict(src) else { continue }
            mergeInto(dst, s, overwrite: overwrite, top: true)
        }
        return a[0]
    }

    static func mergeInto(_ dst: TemplateMap, _ src: TemplateMap, overwrite: Bool, top: Bool) {
        for key in src.sortedKeys {
            let value = src.entries[key]!
            if let existing = dst.entries[key], case .map(let d) = existing, case .map(let s) = value {
                mergeInto(d, s, overwrite: overwrite, top: false)
                continue
            }
            guard let existing = dst.entries[key] else {
                dst.entries[key] = value
                continue
            }
            if existing.isEmpty || (overwrite && (!top || !value.isEmpty)) {
                dst.entries[key] = value
            }
        }
    }
}
